"""A throwaway RabbitMQ node of the test's own, for broker settings the shared one must keep.

Loopback only: AMQP on 127.0.0.1, Erlang distribution bound to 127.0.0.1, the host's epmd.
It runs the same server binary as the shared node, with no plugins, data under a temporary
folder, and the extra Erlang arguments the test passes (as compose.yaml passes them).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.conftest import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def private_rabbitmq(folder: Path, erl_args: str, *, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Run a node under `folder` with `erl_args`; yields its AMQP URL (guest/guest)."""
    folder.mkdir(parents=True, exist_ok=True)
    port, dist_port = free_port(), free_port()
    (folder / "enabled_plugins").write_text("[].\n")
    (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n")
    env = {
        **os.environ,
        "HOME": str(folder),  # its own Erlang cookie
        "RABBITMQ_NODENAME": f"cenas-test-{port}@localhost",
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": "/dev/null",
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": erl_args,
    }
    with open(folder / "server.log", "wb") as log:
        proc = subprocess.Popen([str(SERVER)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.25)
        yield f"amqp://guest:guest@127.0.0.1:{port}//"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
