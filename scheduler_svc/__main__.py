"""`python -m scheduler_svc`: the scheduler service (see scheduler_svc/service.py)."""

import logging
import signal

from scheduler_svc.service import run

logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(name)s: %(message)s")
stop = {"now": False}
signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
run(should_stop=lambda: stop["now"])
