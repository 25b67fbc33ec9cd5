"""Starts, restarts and stops the per-GPU worker processes."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

log = logging.getLogger(__name__)


def visible_gpus() -> int:
    """GPUs NVML can see (0 on hosts without a driver)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return int(pynvml.nvmlDeviceGetCount())
    except Exception:
        return 0


class Supervisor:
    def __init__(self, count: int, restart_delay_s: float = 1.0) -> None:
        self.count = count
        self.restart_delay_s = restart_delay_s
        self.children: dict[int, subprocess.Popen] = {}
        self._stopping = False

    def _spawn(self, index: int) -> None:
        # every worker on this host shares its CPU package: a RAPL meter reads 1/count of it
        self.children[index] = subprocess.Popen([sys.executable, "-m", "worker.gpu_process", "--index", str(index),
                                                 "--host-workers", str(self.count)])
        log.info("started gpu%d (pid %d)", index, self.children[index].pid)

    def stop(self, *_: object) -> None:
        self._stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for index in range(self.count):
            self._spawn(index)
        while not self._stopping:
            time.sleep(0.2)
            for index, child in list(self.children.items()):
                if child.poll() is not None and not self._stopping:
                    log.warning("gpu%d exited with %s; restarting", index, child.returncode)
                    time.sleep(self.restart_delay_s)
                    self._spawn(index)
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
