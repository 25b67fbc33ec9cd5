"""`cenas up`: every service as a local process; Ctrl-C or SIGTERM stops them all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from cenas.settings import Settings, hide_password

#: module -> extra arguments; the order is the start order
SERVICES: dict[str, list[str]] = {
    "forecaster_svc": [],
    "scheduler_svc": [],
    "optimizer_svc": [],
    "worker.pool_service": [],
    "gateway": [],
}


#: services that write a ready file once started (`cenas.readiness`); the gateway answers
#: `/readyz` and the workers answer Celery pings instead
READY_FILE_SERVICES = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker.pool_service")


class LocalStack:
    """Child processes of one `cenas up` (also used by `cenas demo` and the tests).

    By default the children inherit this process's environment and terminal. `cenas demo`
    passes ``env`` (the inherited environment with its own `CENAS_*` values; see
    :func:`child_environment`) and ``log_dir`` (one `<service>.log` per child, each child in
    its own session so that Ctrl-C reaches only the demo, which then stops them in order).
    """

    def __init__(self, virtual_gpus: int | None, extra: dict[str, list[str]] | None = None, *,
                 env: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.commands = {name: [sys.executable, "-m", name, *args] for name, args in {**SERVICES, **(extra or {})}.items()}
        worker = [sys.executable, "-m", "worker"]
        if virtual_gpus is not None:
            worker += ["--virtual-gpus", str(virtual_gpus)]
        self.commands["worker"] = worker
        self.children: dict[str, subprocess.Popen] = {}
        self.env = env
        self.log_dir = log_dir
        self._logs: list = []

    def log_path(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir is not None else None

    def start(self) -> None:
        for name, command in self.commands.items():
            if self.log_dir is None:
                self.children[name] = subprocess.Popen(command, env=self.env)
                continue
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._logs.append(log := open(self.log_dir / f"{name}.log", "w"))
            self.children[name] = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                   start_new_session=True)

    def starting(self, data_dir: Path) -> list[str]:
        """The started services that have not written their ready file in ``data_dir`` yet."""
        from cenas.readiness import is_ready

        return [name for name in READY_FILE_SERVICES
                if name in self.children and not is_ready(data_dir, name, self.children[name].pid)]

    def check(self) -> str | None:
        """The name of a service that exited, if any."""
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def stop(self, timeout: float = 20.0) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()


def child_environment(overrides: dict[str, str], *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment for child services, with ``overrides`` and without ``drop``.

    Only the launcher copies the environment; the children read their settings from it
    with `Settings()` like any other process."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(overrides)
    return env


def up_command(
    virtual_gpus: Annotated[Optional[int], typer.Option(help="Run N CPU stand-ins for GPUs (hosts without NVIDIA GPUs).")] = None,
) -> None:
    """Start all services as local processes (RabbitMQ/PostgreSQL when configured, else embedded)."""
    settings = Settings()
    console = Console(stderr=True)
    broker = hide_password(settings.broker_url) if settings.broker_url else f"embedded (filesystem broker in {settings.data_dir / 'broker'})"
    database = hide_password(settings.database_url) if settings.database_url else f"embedded (SQLite {settings.data_dir / 'cenas.db'})"
    console.print(f"broker: {broker}\ndatabase: {database}")
    stack = LocalStack(virtual_gpus)
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stopping.update(now=True))
    stack.start()
    console.print(f"started {', '.join(stack.children)}; Ctrl-C stops them")
    try:
        while not stopping["now"]:
            dead = stack.check()
            if dead:
                console.print(f"[red]{dead} exited ({stack.children[dead].returncode}); stopping the rest[/]")
                break
            time.sleep(0.5)
    finally:
        stack.stop()
    console.print("all services stopped")
    if not stopping["now"]:
        raise typer.Exit(1)
