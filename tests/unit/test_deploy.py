"""compose.yaml and the Dockerfile agree with the code: the same services as `cenas up`,
only settings that exist, healthy dependencies first, GPUs reserved for the workers, no
secret in either file, clean stops, and a test override that keeps to the host's loopback.
(These are structural; deploy/smoke.sh runs the stack on a real engine where one starts.)"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from cenas.settings import Settings
from cenas_cli.up import SERVICES
from tests.compose_file import interpolate, load_compose

ROOT = Path(__file__).resolve().parents[2]
INFRA = {"rabbitmq", "postgres"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose(ROOT / "compose.yaml")


@pytest.fixture(scope="module")
def smoke() -> dict:
    return load_compose(ROOT / "deploy" / "compose.smoke.yaml")


def app_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if name not in INFRA}


def test_compose_runs_the_same_services_as_cenas_up(compose):
    modules = {svc["command"][2] for svc in app_services(compose).values()}
    assert modules == set(SERVICES) | {"worker"}
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        if spec.submodule_search_locations:  # a package runs with -m only through its __main__
            assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_every_setting_in_compose_exists_and_parses(compose):
    fields = set(Settings.model_fields)
    env = {"RABBITMQ_PASSWORD": "r-secret", "POSTGRES_PASSWORD": "p-secret"}
    for name, svc in app_services(compose).items():
        values = {k: interpolate(v, env) for k, v in svc["environment"].items()}
        for key in values:
            assert key.startswith("CENAS_") and key.removeprefix("CENAS_").lower() in fields, f"{name}: unknown setting {key}"
        settings = Settings(_env_file=None, **{k.removeprefix("CENAS_").lower(): v for k, v in values.items() if v != ""})
        assert settings.broker_url.startswith("amqp://") and "@rabbitmq:5672" in settings.broker_url
        assert settings.database_url.startswith("postgresql://") and "@postgres:5432/" in settings.database_url
    gateway = app_services(compose)["gateway"]["environment"]
    assert gateway["CENAS_GATEWAY_HOST"] == "0.0.0.0"


def test_passwords_are_required_from_the_environment_never_written_down(compose):
    text = (ROOT / "compose.yaml").read_text()
    with pytest.raises(KeyError, match="RABBITMQ_PASSWORD"):
        interpolate(compose["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"], {})
    assert not re.search(r"(PASSWORD|PASS|TOKEN)\w*: +[^$\s]", text)  # every secret is a ${...} reference
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(PASSWORD|TOKEN|SECRET)\w*=", dockerfile)


def test_services_wait_for_healthy_dependencies(compose):
    for name in INFRA | {"gateway"}:
        assert "healthcheck" in compose["services"][name], name
    for name, svc in app_services(compose).items():
        assert {dep: cond["condition"] for dep, cond in svc["depends_on"].items()} == {
            "rabbitmq": "service_healthy", "postgres": "service_healthy"}, name
    for name in INFRA:
        assert compose["services"][name]["volumes"], f"{name} keeps its state in a volume"


def test_the_worker_reserves_nvidia_gpus(compose):
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert compose["services"]["worker"]["command"] == ["python", "-m", "worker"]


def test_the_image_pins_the_projects_torch_and_ships_every_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    torch_pin = next(d for d in project["project"]["dependencies"] if d.startswith("torch"))
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"pip install --index-url \"$TORCH_INDEX_URL\" {torch_pin}" in dockerfile
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert re.search(rf"^COPY {package} \./{package}$", dockerfile, re.M), package


def test_every_service_stops_cleanly_and_says_when_it_is_ready(compose):
    """tini as PID 1 passes SIGTERM on (a Python PID 1 without a handler ignores it); the
    workers' grace period covers the supervisor's own 15 s wait for its children; each
    service without an HTTP port is healthy once this run's process wrote its ready file."""
    for name, svc in app_services(compose).items():
        assert svc["init"] is True, name
        assert int(svc["stop_grace_period"].removesuffix("s")) >= (30 if name == "worker" else 10), name
        module = svc["command"][2]
        if name not in {"gateway", "worker"}:
            assert svc["healthcheck"]["test"] == ["CMD", "python", "-m", "cenas.readiness", module], name
    assert "CENAS_GATEWAY_PORT" in " ".join(compose["services"]["gateway"]["healthcheck"]["test"])


def test_the_image_installs_dependencies_before_the_code():
    """Code changes rebuild only the last layers (CI caches the dependency layer)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    deps = dockerfile.index("pip install -r /tmp/requirements.txt")
    assert dockerfile.index("COPY pyproject.toml ./") < deps < dockerfile.index("COPY cenas ./cenas")
    assert "pip install --no-deps ." in dockerfile
    assert re.search(r"^USER cenas$", dockerfile, re.M) and "chown cenas /data" in dockerfile
    assert "libgomp1" in dockerfile  # lightgbm's OpenMP runtime: the forecaster fails to start without it


def test_the_smoke_override_keeps_to_the_hosts_loopback(compose, smoke):
    """deploy/smoke.sh's override: host network for every service, nothing published, every
    URL on 127.0.0.1, CPU stand-in workers without a GPU reservation, settings that exist."""
    assert set(smoke["services"]) == set(compose["services"])
    for name, svc in smoke["services"].items():
        assert svc["network_mode"] == "host", name
        assert "ports" not in svc or svc["ports"] is None, name
    urls = re.findall(r"\w+://[^\s\"']+", (ROOT / "deploy" / "compose.smoke.yaml").read_text())
    assert urls and all(re.match(r"\w+://[^@/]*@127\.0\.0\.1:", url) for url in urls), urls
    worker = smoke["services"]["worker"]
    assert worker["command"] == ["python", "-m", "worker", "--virtual-gpus", "2"]
    assert "deploy" in worker and worker["deploy"] is None  # !reset: no GPU reservation
    fields = set(Settings.model_fields)
    for name, svc in smoke["services"].items():
        for key in svc.get("environment") or {}:
            assert key.removeprefix("CENAS_").lower() in fields, f"{name}: unknown setting {key}"


def test_a_worker_only_host_joins_the_first_hosts_broker_and_database(compose):
    """compose.worker.yaml runs the same worker as compose.yaml, nothing else, against the
    broker and database URLs it is given (required: no default could be right)."""
    extra = load_compose(ROOT / "compose.worker.yaml")
    assert set(extra["services"]) == {"worker"}
    worker, main_worker = extra["services"]["worker"], compose["services"]["worker"]
    for key in ("command", "deploy", "init", "stop_grace_period", "image"):
        assert worker[key] == main_worker[key], key
    env = worker["environment"]
    for key in ("CENAS_BROKER_URL", "CENAS_DATABASE_URL"):
        with pytest.raises(KeyError, match=key):
            interpolate(env[key], {})
    given = {"CENAS_BROKER_URL": "amqp://cenas:r@first:5672/", "CENAS_DATABASE_URL": "postgresql://cenas:p@first:5432/cenas"}
    settings = Settings(_env_file=None, **{k.removeprefix("CENAS_").lower(): interpolate(v, given) for k, v in env.items()})
    assert settings.broker_url == given["CENAS_BROKER_URL"] and settings.database_url == given["CENAS_DATABASE_URL"]
    published = load_compose(ROOT / "deploy" / "compose.publish.yaml")["services"]
    assert published == {"rabbitmq": {"ports": ["5672:5672"]}, "postgres": {"ports": ["5432:5432"]}}


def broker_consumer_timeout_ms(compose: dict, env: dict[str, str]) -> int:
    args = interpolate(compose["services"]["rabbitmq"]["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"], env).split()
    return int(args[args.index("consumer_timeout") + 1])


def test_the_broker_waits_longer_than_an_evaluation_before_taking_it_back(compose):
    # acks_late: a task is acknowledged when it ends; RabbitMQ's own default (30 min) would
    # hand every longer evaluation to a second GPU while the first still trains it
    assert broker_consumer_timeout_ms(compose, {}) >= 24 * 3600 * 1000
    assert broker_consumer_timeout_ms(compose, {"RABBITMQ_CONSUMER_TIMEOUT_MS": "5000"}) == 5000
    assert "RABBITMQ_CONSUMER_TIMEOUT_MS" in (ROOT / "README.md").read_text()
