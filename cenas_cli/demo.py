"""`cenas demo`: the whole system on the embedded default, one example search end to end.

It starts a LocalStack (filesystem broker + SQLite) in a private temporary data directory
(or `--data-dir`) on a free port, waits for `/readyz`, creates an API key in that
database, submits the bundled spec (`cenas/examples/demo.json`) over HTTP, shows a progress
bar while polling, then prints the Pareto front and the carbon summary beside vanilla NAS
simulated on the same setting, and writes `report.json` and `report.png`.

Ctrl-C or SIGTERM stops every service and exits 130. A service that dies, a search that
fails or a gateway that never gets ready ends with one `error:` line and exit code 2; the
data directory (with one log per service) is then kept and named.
"""

from __future__ import annotations

import logging
import json
import shutil
import signal
import socket
import tempfile
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Optional

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cenas.carbon.traces import BUNDLED_REGIONS
from cenas.client import GatewayClient, describe_detail, read_spec_file
from cenas_cli.demo_report import optimizer_proposer, series_row, summary_lines, vanilla_comparison, write_report
from scheduler_svc.baseline import baseline_record, budget_hours, simulate_vanilla
from cenas_cli.searches import pareto_table, summary
from cenas_cli.up import LocalStack, child_environment
from cenas.errors import CenasError, SpecFileError
from cenas.settings import Settings
from cenas.spec import SearchSpec

log = logging.getLogger(__name__)
#: seconds between two polls of the search
POLL_S = 0.5
#: how long the stack may take to answer /readyz (2 busy cores start 8+ Python processes)
READY_TIMEOUT_S = 240.0
#: beyond the budget's replayed duration, how long a search may take to end
FINISH_SLACK_S = 600.0


class DemoError(CenasError):
    """The demo could not run to the end (a service died, the search failed, ...)."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM."""


def example_spec() -> dict:
    """The bundled demo SearchSpec."""
    return json.loads(resources.files("cenas.examples").joinpath("demo.json").read_text(encoding="utf-8"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _apply_options(spec: dict, hours: float | None, seconds_per_hour: float | None, virtual_gpus: int | None) -> dict:
    spec = json.loads(json.dumps(spec))
    if hours is not None:
        spec.setdefault("budget", {})["hours"] = hours
    if seconds_per_hour is not None:
        spec.setdefault("carbon", {})["seconds_per_hour"] = seconds_per_hour
    if virtual_gpus is not None:
        spec["gpus"] = virtual_gpus
    return spec


class _Demo:
    """One demo run: the stack, the stop flag and what was observed."""

    def __init__(self, stack: LocalStack, data_dir: Path) -> None:
        self.stack = stack
        self.data_dir = data_dir
        self.stopping = False
        self.vanilla: _Vanilla | None = None

    def stop_stack(self) -> None:
        if self.vanilla is not None:
            self.vanilla.detach()  # its database goes with the stack
        self.stack.stop()

    def check(self) -> None:
        if self.stopping:
            raise Interrupted
        dead = self.stack.check()
        if dead:
            code = self.stack.children[dead].returncode
            raise DemoError(f"service {dead} exited with code {code}; its log: {self.stack.log_path(dead)}")

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check()
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def waiting_for(self, settings: Settings, celery) -> list[str]:
        """What is not ready yet: services still starting, the gateway, missing GPU workers."""
        waiting = self.stack.starting(settings.data_dir)
        try:
            if httpx.get(f"{settings.gateway_url}/readyz", timeout=5).status_code != 200:
                waiting.append("gateway")
        except httpx.TransportError:
            waiting.append("gateway")
        workers = len(celery.control.ping(timeout=1.0) or [])
        if workers < settings.pool_gpus:
            waiting.append(f"workers ({workers}/{settings.pool_gpus})")
        return waiting

    def wait_ready(self, settings: Settings, console: Console) -> None:
        """Every service started, so that the search's replay clock starts with all of them."""
        from cenas.work import make_celery

        celery = make_celery(settings)
        deadline = time.monotonic() + READY_TIMEOUT_S
        with console.status("starting services") as status:
            while True:
                self.check()
                waiting = self.waiting_for(settings, celery)
                if not waiting:
                    return
                if time.monotonic() > deadline:
                    raise DemoError(f"not ready after {READY_TIMEOUT_S:.0f} s: {', '.join(waiting)}; logs in {self.stack.log_dir}")
                status.update(f"waiting for {', '.join(waiting)}")
                self.sleep(0.5)

    def follow(self, client: GatewayClient, search_id: str, spec: dict, console: Console) -> tuple[dict, list[dict]]:
        """Poll the search to its end behind a progress bar; the last state and every poll."""
        hours = float(spec["budget"].get("hours") or 0)
        limit = hours * float(spec["carbon"].get("seconds_per_hour", 3600)) + FINISH_SLACK_S
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.1f}/{task.total:.0f} h"),
                   TextColumn("{task.fields[stats]}"), TimeElapsedColumn())
        series: list[dict] = []
        began = time.monotonic()
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("queued", total=hours or None, stats="")
            while True:
                self.check()
                search = client.search(search_id)
                row = series_row(time.monotonic() - began, search)
                series.append(row)
                progress.update(task, completed=min(row["elapsed_hours"], hours) if hours else row["elapsed_hours"],
                                description=search["status"],
                                stats=(f"{row['evaluations']} evals  HV {row['hypervolume']:.1f}  {row['carbon_g']:.0f} gCO2  "
                                       f"GPUs eval/sample/idle {row['gpus_evaluation']}/{row['gpus_sampling']}/{row['gpus_idle']}"))
                if search["status"] in ("succeeded", "failed", "cancelled"):
                    return search, series
                if time.monotonic() - began > limit:
                    raise DemoError(f"search {search_id} had not finished after {limit:.0f} s; logs in {self.stack.log_dir}")
                self.sleep(POLL_S)


class _Vanilla(threading.Thread):
    """Simulates vanilla NAS while the search runs (the simulator needs only the spec) and,
    while the stack is up, stores its curve with the search so the dashboard draws it."""

    def __init__(self, spec: dict, settings: Settings | None = None, search_id: str | None = None) -> None:
        super().__init__(name="vanilla-simulation", daemon=True)
        self.spec, self.search_id = spec, search_id
        self.result, self.error = None, None
        self._settings, self._lock = settings, threading.Lock()

    def run(self) -> None:
        try:
            run = simulate_vanilla(self.spec, budget_hours(self.spec), optimizer_proposer(self.spec))
        except Exception as exc:  # noqa: BLE001 - reported by `outcome`
            self.error = exc
            return
        self.result = run.result if run is not None else None
        with self._lock:
            if run is not None and self._settings is not None and self.search_id is not None:
                self._store(run)

    def _store(self, run) -> None:
        from cenas.db import make_engine
        from cenas.db.baselines import save_baseline

        try:
            engine = make_engine(self._settings)
            try:
                save_baseline(engine, baseline_record(self.search_id, run))
            finally:
                engine.dispose()
        except Exception:  # noqa: BLE001 - the dashboard then lacks the curve; the report still has it
            log.exception("could not store the vanilla curve with search %s", self.search_id)

    def detach(self) -> None:
        """The stack is stopping: from now on nothing is written to its database."""
        with self._lock:
            self._settings = None

    def outcome(self):
        self.join()
        if self.error is not None:
            raise DemoError(f"the vanilla simulation failed: {type(self.error).__name__}: {self.error}")
        return self.result


def _all_decisions(client: GatewayClient, search_id: str) -> list[dict]:
    items: list[dict] = []
    while True:
        page = client.decisions(search_id, limit=1000, offset=len(items))
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def demo_command(
    spec_path: Annotated[Optional[Path], typer.Option("--spec", help="Run this SearchSpec (.json/.yaml) instead of the bundled example.")] = None,
    hours: Annotated[Optional[float], typer.Option(min=0.1, help="Trace hours of the budget (default: the spec's, 80).")] = None,
    seconds_per_hour: Annotated[Optional[float], typer.Option(min=0.05, help="Real seconds per replayed trace hour (default: the spec's, 1.25).")] = None,
    virtual_gpus: Annotated[Optional[int], typer.Option(min=1, help="CPU stand-ins for GPUs; the search uses this many (default: the spec's gpus, 8).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Keep the embedded database, broker and logs here (default: a temporary directory, removed after a clean run).")] = None,
    out: Annotated[Path, typer.Option(help="Where report.json and report.png go.")] = Path("demo-out"),
) -> None:
    """Run the example search on the embedded stack, with a progress bar; print the Pareto
    front and the carbon summary beside vanilla NAS; write report.json and report.png."""
    spec = _apply_options(read_spec_file(spec_path) if spec_path else example_spec(), hours, seconds_per_hour, virtual_gpus)
    try:  # a bad spec fails before anything starts
        gpus = SearchSpec.model_validate(spec).gpus
    except ValidationError as exc:
        raise SpecFileError(f"invalid spec: {describe_detail(exc.errors())}") from None
    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=160)  # logs and pipes: the whole progress line
    temporary = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="cenas-demo-")) if temporary else data_dir.resolve()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=root, broker_url=None, database_url=None, gateway_host="127.0.0.1", gateway_port=port,
                        gateway_url=url, pool_gpus=gpus)
    overrides = {"CENAS_DATA_DIR": str(root), "CENAS_GATEWAY_HOST": "127.0.0.1", "CENAS_GATEWAY_PORT": str(port),
                 "CENAS_GATEWAY_URL": url, "CENAS_POOL_GPUS": str(gpus), "PYTHONUNBUFFERED": "1"}
    region = (spec.get("carbon") or {}).get("region", "US-CAL-CISO")
    if region in BUNDLED_REGIONS:  # forecast only the region the search uses: a faster start
        overrides["CENAS_FORECASTER_REGIONS"] = region
    env = child_environment(overrides, drop=("CENAS_BROKER_URL", "CENAS_DATABASE_URL"))
    stack = LocalStack(gpus, env=env, log_dir=root / "logs")
    demo = _Demo(stack, root)
    previous = {s: signal.signal(s, lambda *_: setattr(demo, "stopping", True)) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    clean = False
    try:
        console.print(f"starting the embedded stack ({gpus} virtual GPUs) in {root}")
        stack.start()
        demo.wait_ready(settings, console)
        console.print(f"all services ready after {time.monotonic() - started:.0f} s; gateway at {url}")
        search, series, pareto, decisions, vanilla = _run_search(demo, settings, url, spec, console)
        demo.stop_stack()
        clean = True
    except Interrupted:
        demo.stop_stack()
        console.print("interrupted: all services stopped")
        clean = True
        raise typer.Exit(130) from None
    except DemoError:  # a service or the search failed: keep the logs
        demo.stop_stack()
        raise
    except CenasError:
        demo.stop_stack()
        clean = True
        raise
    except Exception as exc:  # noqa: BLE001 - a demo ends with one line, never a traceback
        demo.stop_stack()
        raise DemoError(f"the demo stopped: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if temporary and clean:
            shutil.rmtree(root, ignore_errors=True)
        elif not clean:
            console.print(f"kept the data directory and service logs in {root}")
    try:
        _finish(search, series, pareto, decisions, vanilla, out, time.monotonic() - started)
    except KeyboardInterrupt:
        console.print("interrupted")
        raise typer.Exit(130) from None


def _run_search(demo: _Demo, settings: Settings, url: str, spec: dict, console: Console):
    from cenas.db import make_engine
    from gateway.auth import create_api_key

    engine = make_engine(settings)
    try:
        _, key = create_api_key(engine, name="cenas-demo")
    finally:
        engine.dispose()
    console.print(f"dashboard: {url}/ui while the demo runs (API key: {key if console.is_terminal else 'shown on a terminal only'})")
    with GatewayClient(url, key, timeout=30.0) as client:
        search_id = client.submit(spec)["id"]
        spec = client.search(search_id)["spec"]  # as the gateway validated it, defaults filled in
        console.print(f"submitted {spec.get('name', 'search')!r} ({search_id}): {spec['gpus']} GPUs, "
                      f"{spec['budget'].get('hours')} trace hours at {spec['carbon'].get('seconds_per_hour')} s each, policy {spec.get('policy', 'heuristic')}")
        vanilla = None
        if spec["budget"].get("hours"):  # else its length is known only at the end
            vanilla = demo.vanilla = _Vanilla(spec, settings, search_id)
            vanilla.start()
        search, series = demo.follow(client, search_id, spec, console)
        if search["status"] != "succeeded":
            raise DemoError(f"search {search_id} {search['status']}: {search.get('error') or 'no reason given'}")
        return search, series, client.pareto(search_id), _all_decisions(client, search_id), vanilla


def _finish(search: dict, series: list[dict], pareto: dict, decisions: list[dict], vanilla: _Vanilla | None,
            out: Path, wall_s: float) -> None:
    if vanilla is None:
        budget = {**search["spec"]["budget"], "hours": max(1.0, search["progress"]["elapsed_hours"])}
        vanilla = _Vanilla({**search["spec"], "budget": budget})
        vanilla.start()
    if vanilla.is_alive():
        print("finishing the simulation of vanilla NAS on the same setting ...", file=sys.stderr)
    comparison = vanilla_comparison(search, vanilla.outcome())
    fallbacks = sorted({d["fallback"] for d in decisions if d.get("fallback")})
    report = {"search": search, "spec": search["spec"], "summary": summary(search), "pareto": pareto, "vanilla": comparison,
              "series": series, "decisions": decisions, "policy_fallbacks": fallbacks, "wall_seconds": round(wall_s, 1)}
    json_path, png_path = write_report(out, report)
    stdout = Console() if Console().is_terminal else Console(width=160)
    stdout.print(pareto_table(pareto))
    for line in summary_lines(search, comparison):
        stdout.print(line)
    for reason in fallbacks:
        stdout.print(f"note: {reason}")
    stdout.print(f"demo finished in {wall_s:.0f} s; wrote {json_path} and {png_path}")


__all__ = ["demo_command", "example_spec"]
