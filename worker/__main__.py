"""`python -m worker [--virtual-gpus N]`: one worker process per visible GPU, supervised.

GPUs are counted with NVML; CPU hosts pass `--virtual-gpus N` to run N workers that stand
in for GPUs (replayed tasks, power-model energy). A worker that dies is restarted (its
unacknowledged task was already redelivered by the broker); SIGINT/SIGTERM stop them all.
"""

from __future__ import annotations

import argparse
import logging

from worker.supervisor import Supervisor, visible_gpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--virtual-gpus", type=int, default=None, help="run N workers on a host without (enough) GPUs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker-supervisor %(levelname)s: %(message)s")
    count = args.virtual_gpus if args.virtual_gpus is not None else visible_gpus()
    if count < 1:
        parser.exit(2, "error: no GPU visible; pass --virtual-gpus N to run CPU stand-ins\n")
    Supervisor(count).run()


if __name__ == "__main__":
    main()
