"""Readiness probes and the Prometheus exposition, computed from the database per scrape.

Figures come from the tables (the system of record), so every gateway replica reports the
same numbers and a restart loses nothing. Queue depths of the Celery work queues are read
with a passive `queue.declare` when the broker is RabbitMQ; other transports skip them.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

from cenas.bus import connect_from
from cenas.settings import Settings
from cenas.work import EVALUATION_QUEUE, SAMPLING_QUEUE
from cenas.db.readings import carbon_sources, staleness_s
from gateway.store import totals

log = logging.getLogger(__name__)
#: seconds a probe waits for the broker
BROKER_TIMEOUT_S = 3.0


def check_database(engine: Engine) -> str | None:
    """None when `SELECT 1` works, else why not."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the caller
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def _broker(settings: Settings):
    return connect_from(settings).clone(connect_timeout=BROKER_TIMEOUT_S)


def check_broker(settings: Settings) -> str | None:
    """None when a broker connection opens, else why not."""
    try:
        with _broker(settings) as conn:
            conn.connect()
    except Exception as exc:  # any failure means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


def queue_depths(settings: Settings, names: tuple[str, ...] = (SAMPLING_QUEUE, EVALUATION_QUEUE)) -> dict[str, int]:
    """Messages waiting per work queue (RabbitMQ only; queues not declared yet are left out)."""
    if not settings.broker_url or not settings.broker_url.startswith(("amqp", "pyamqp")):
        return {}
    depths = {}
    try:
        with _broker(settings) as conn:
            for name in names:
                channel = conn.channel()
                try:
                    _, count, _ = channel.queue_declare(queue=name, passive=True)
                    depths[name] = int(count)
                except Exception:  # 404: nobody declared it yet; the channel is closed by the broker
                    log.debug("queue %s not declared yet", name)
                finally:
                    try:
                        channel.close()
                    except Exception:  # already closed by the broker
                        pass
    except Exception as exc:
        log.warning("queue depths unavailable: %s", settings.redact(str(exc)))
    return depths


class CenasCollector(Collector):
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    def collect(self):
        t = totals(self.engine)
        searches = GaugeMetricFamily("cenas_searches", "Searches by status.", labels=["status"])
        for status, count in t["searches"].items():
            searches.add_metric([status], count)
        yield searches
        yield GaugeMetricFamily("cenas_evaluations", "Architectures evaluated, all searches.", value=t["evaluations"])
        yield GaugeMetricFamily("cenas_energy_kwh", "Energy spent by all searches (evaluation, sampling, idle), kWh.", value=t["energy_kwh"])
        yield GaugeMetricFamily("cenas_carbon_grams", "Carbon emitted by all searches, gCO2eq.", value=t["carbon_g"])
        yield GaugeMetricFamily("cenas_decisions", "Scheduler decisions recorded, all searches.", value=t["decisions"])
        stale = GaugeMetricFamily("cenas_carbon_signal_stale", "1 while a live zone's provider is not answering (decisions use "
                                  "the last good reading), 2 once its source failed (bad credentials, unknown zone).",
                                  labels=["provider", "zone"])
        age = GaugeMetricFamily("cenas_carbon_signal_age_seconds", "Seconds since a live zone's last good reading.",
                                labels=["provider", "zone"])
        for src in carbon_sources(self.engine):
            stale.add_metric([src.provider, src.zone], {"ok": 0, "stale": 1}.get(src.state, 2))
            seconds = staleness_s(src)
            if seconds is not None:
                age.add_metric([src.provider, src.zone], seconds)
        yield stale
        yield age
        depths = GaugeMetricFamily("cenas_queue_messages", "Tasks waiting in a work queue (RabbitMQ only).", labels=["queue"])
        for name, count in queue_depths(self.settings).items():
            depths.add_metric([name], count)
        yield depths


def make_registry(engine: Engine, settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CenasCollector(engine, settings))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
