"""Where messages travel: RabbitMQ when `CENAS_BROKER_URL` is set, else the filesystem.

The embedded default is kombu's filesystem transport in the data directory: it needs no
server, works across processes (topic and fanout exchanges included, so Celery's remote
control works too) and is what `cenas up` / `cenas demo` use out of the box.
"""

from __future__ import annotations

from pathlib import Path

from cenas.settings import Settings


def broker_args(settings: Settings) -> tuple[str, dict]:
    """(url, transport_options) for kombu and Celery alike."""
    if settings.broker_url:
        return settings.broker_url, {"confirm_publish": True}
    folder = Path(settings.data_dir) / "broker"
    for sub in ("queue", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
