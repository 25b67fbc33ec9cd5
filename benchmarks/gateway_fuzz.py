"""Hostile input, long form: schemathesis over every gateway operation, thousands of requests.

    python benchmarks/gateway_fuzz.py [--examples 250] [--postgres] [--seed N]

The same harness as `tests/unit/gateway/test_fuzz.py` (in-process ASGI, the embedded
filesystem broker; SQLite in a temporary directory, or with `--postgres` a private
database on the local PostgreSQL), but every failure is counted instead of stopping at
the first. `--examples` is per operation and generation mode (positive and negative).
Prints requests sent, server errors, statuses, per-operation counts and each distinct
failing check; exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.*

from private_stack import PG_ADMIN, private_database  # noqa: E402
from tests.unit.gateway.fuzzing import build_target, fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=250, help="generated cases per operation and mode")
    parser.add_argument("--postgres", action="store_true", help=f"a private database on {PG_ADMIN} instead of SQLite")
    parser.add_argument("--seed", type=int, default=None, help="derandomise generation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = stack.enter_context(private_database()) if args.postgres else None
        target = build_target(Path(tmp), url)
        started = time.monotonic()
        try:
            report = fuzz(target, examples=args.examples, seed=args.seed, stop_on_failure=False)
        finally:
            target.close()
        elapsed = time.monotonic() - started
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}; {args.examples} examples per operation and mode; {elapsed:.0f} s")
    print(report.summary())
    for label, count in report.per_operation.items():
        print(f"  {label}: {count}")
    for skipped in report.skipped:
        print(f"  skipped (nothing to generate): {skipped}")
    for title, message in report.failures.items():
        print(f"FAILURE {title}\n{message}\n")
    return 1 if report.failures or report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
