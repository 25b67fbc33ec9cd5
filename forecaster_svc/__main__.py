"""``python -m forecaster_svc``: publish carbon forecasts until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from cenas.errors import CenasError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from cenas.bus import Publisher, connect_from
    from cenas.db import SERVICE_START_WAIT_S, make_engine, save_forecast
    from cenas.carbon.providers.replay import ReplayProvider
    from cenas.db.searches import running_replay_instants, running_replay_regions
    from cenas.readiness import mark_ready
    from cenas.settings import Settings
    from forecaster_svc import bootstrap
    from cenas.carbon.providers import live_provider
    from forecaster_svc.live import LiveSignalService
    from forecaster_svc.replay_models import ReplayModels
    from forecaster_svc.service import ForecastService

    try:
        settings = Settings()
        clock = bootstrap.build_clock(settings)
        provider = bootstrap.build_provider(settings, clock)
        regions = settings.forecaster_region_list()
        engine = make_engine(settings, wait_s=SERVICE_START_WAIT_S)
        models = bootstrap.load_models(regions, settings.forecaster_model_dir)
        load_model = lambda region: bootstrap.load_models([region], settings.forecaster_model_dir)[region]  # noqa: E731
        service = ForecastService(
            regions=regions, provider=provider, models=models,
            publisher=Publisher(connection=connect_from(settings)), save=lambda m: save_forecast(engine, forecast=m),
            clock=clock, interval=bootstrap.interval(settings),
            active_regions=lambda: running_replay_regions(engine), load_model=load_model,
            weather=bootstrap.build_weather(settings), weather_window=settings.forecaster_weather_window_hours,
        )
        # replayed searches live at their own trace time: a second loop (own thread, own
        # publisher) forecasts at each one's current hour from the bundled trace
        for_searches = ForecastService(
            regions=[], provider=ReplayProvider(clock), models=models,
            publisher=Publisher(connection=connect_from(settings)), save=lambda m: save_forecast(engine, forecast=m),
            clock=clock, load_model=load_model, search_instants=lambda: running_replay_instants(engine),
            replay_model=ReplayModels(settings.data_dir / "forecaster" / "replay",
                                      weather_window=settings.forecaster_weather_window_hours).for_replay,
            weather=bootstrap.build_weather(settings, replay=True), weather_window=settings.forecaster_weather_window_hours,
        )
        live = LiveSignalService(
            engine=engine, provider=lambda name: live_provider(settings, name), model=_cached(load_model),
            deliver=_deliverer(Publisher(connection=connect_from(settings)), lambda m: save_forecast(engine, forecast=m)),
            poll_s=settings.live_poll_s,
        )
    except (CenasError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.getLogger("forecaster_svc").info("publishing %s every %s", ", ".join(regions), service.interval)
    mark_ready(settings, "forecaster_svc")
    searches = threading.Thread(target=for_searches.run_searches, args=(stop,), name="search-forecasts", daemon=True)
    searches.start()
    # live searches' zones: polled on the wall clock, every reading stored
    polling = threading.Thread(target=live.run, args=(stop,), name="live-signals", daemon=True)
    polling.start()
    service.run(stop)
    searches.join(timeout=5)
    polling.join(timeout=5)
    provider.close()
    return 0


def _cached(load):
    models: dict = {}

    def model(zone: str):
        if zone not in models:
            models[zone] = load(zone)
        return models[zone]

    return model


def _deliverer(publisher, save):
    log = logging.getLogger("forecaster_svc.live")

    def deliver(message) -> None:
        try:
            publisher.publish(message)
            save(message)
        except Exception:
            log.exception("delivering the live forecast for %s failed", message.region)

    return deliver


if __name__ == "__main__":
    sys.exit(main())
