"""Where messages travel: RabbitMQ when `CENAS_BROKER_URL` is set, else the filesystem.

The embedded default is kombu's filesystem transport in the data directory: it needs no
server, works across processes (topic and fanout exchanges included, so Celery's remote
control works too) and is what `cenas up` / `cenas demo` use out of the box.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

from cenas.settings import Settings

#: the URL scheme of the embedded broker (kombu's filesystem transport, atomic writes)
EMBEDDED_SCHEME = "cenasfs"


class _AtomicChannel(filesystem.Channel):
    """kombu's filesystem channel, except that a message file appears in the queue folder
    only once it is complete: it is written in `staging/` beside it, then renamed in.

    kombu creates the file in place and then writes it, so a consumer polling at that
    moment can take the empty file and fail to decode it (seen as a JSONDecodeError that
    killed the optimizer's consumer under load)."""

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staging = Path(self.data_folder_out).parent / "staging"
        try:
            staging.mkdir(exist_ok=True)
            (staging / name).write_bytes(str_to_bytes(dumps(payload)))
            os.replace(staging / name, Path(self.data_folder_out) / name)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory {self.data_folder_out}") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    """The embedded broker's transport (registered as `cenasfs://`)."""

    Channel = _AtomicChannel


def broker_args(settings: Settings) -> tuple[str, dict]:
    """(url, transport_options) for kombu and Celery alike."""
    if settings.broker_url:
        return settings.broker_url, {"confirm_publish": True}
    TRANSPORT_ALIASES.setdefault(EMBEDDED_SCHEME, f"{__name__}:AtomicFilesystemTransport")
    folder = Path(settings.data_dir) / "broker"
    for sub in ("queue", "control", "processed", "staging"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return f"{EMBEDDED_SCHEME}://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
