"""`python -m optimizer_svc`: the optimizer service (see optimizer_svc/service.py)."""

import logging
import signal

from optimizer_svc.service import run

logging.basicConfig(level=logging.INFO, format="%(asctime)s optimizer %(levelname)s %(name)s: %(message)s")
stop = {"now": False}
signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
run(should_stop=lambda: stop["now"])
