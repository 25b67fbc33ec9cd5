"""Where messages travel: RabbitMQ when `CENAS_BROKER_URL` is set, else the filesystem.

The embedded default is kombu's filesystem transport in the data directory: it needs no
server, works across processes (topic and fanout exchanges included, so Celery's remote
control works too) and is what `cenas up` / `cenas demo` use out of the box.

kombu's own filesystem channel loses and duplicates messages under concurrency: a message
file is visible to readers before its bytes are written (a reader takes it empty), and
readers claim files with `shutil.move` to the system temp directory, a copy-then-delete
when that is another file system (two readers can both take one message). Ours writes
to a hidden file and renames it into place, and claims by an atomic rename within the
broker folder, so each message is read whole, exactly once.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from cenas.settings import Settings


#: URL scheme of the embedded transport (registered with kombu by `broker_args`)
EMBEDDED_SCHEME = "cenasfs"


class AtomicFilesystemChannel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".{uuid.uuid4().hex}.partial")  # never matches a queue
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(partial, os.path.join(self.data_folder_out, name))

    def _get(self, queue: str) -> dict:
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, f"{os.getpid()}-{filename}")
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except OSError:
                continue  # another consumer claimed it first
            with open(claimed, "rb") as f:
                payload = f.read()
            os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel


def broker_args(settings: Settings) -> tuple[str, dict]:
    """(url, transport_options) for kombu and Celery alike."""
    TRANSPORT_ALIASES.setdefault(EMBEDDED_SCHEME, f"{__name__}:AtomicFilesystemTransport")
    if settings.broker_url:
        return settings.broker_url, {"confirm_publish": True}
    folder = Path(settings.data_dir) / "broker"
    for sub in ("queue", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return f"{EMBEDDED_SCHEME}://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
