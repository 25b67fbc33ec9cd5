"""Checks that a finished search lost nothing, through the gateway only (deploy/smoke.sh).

    python deploy/check_search.py SEARCH_ID [--gpus N --hours H]

Reads `CENAS_GATEWAY_URL` and `CENAS_API_KEY` like the `cenas` client commands. Waits for
the search's ledger to settle, then checks what a restart in the middle could have broken:
the search succeeded; its evaluation count is the number of evaluation rows, one per
architecture; every evaluation has a finished ledger segment; the search's energy and
carbon are the sums of its ledger rows; and (given --gpus/--hours) every GPU-second of the
grant is charged exactly once. Prints one `ok:` line of figures, or `FAILED:` lines and
exits 1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import httpx

from cenas.client import all_pages
from cenas.settings import Settings


def settled(http: httpx.Client, search_id: str, timeout_s: float) -> dict:
    """The search once its totals are final (settled_at set), or as it is at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        search = http.get(f"/v1/searches/{search_id}").raise_for_status().json()
        if search.get("settled_at") or time.monotonic() > deadline:
            return search
        time.sleep(1.0)


def problems(search: dict, evaluations: list[dict], ledger: list[dict]) -> list[str]:
    """What is wrong with a finished search, as sentences; empty when nothing is."""
    found: list[str] = []
    progress = search["progress"]
    if search["status"] != "succeeded":
        found.append(f"status is {search['status']!r} (error: {search.get('error')})")
    if not search.get("settled_at"):
        found.append("the ledger never settled")
    codes = [e["code"] for e in evaluations]
    if progress["evaluations"] != len(evaluations):
        found.append(f"progress says {progress['evaluations']} evaluations, {len(evaluations)} rows exist")
    if len(set(codes)) != len(codes):
        found.append("an architecture was counted twice")
    if not evaluations:
        found.append("no evaluation finished")
    finished = {r["key"] for r in ledger if r["state"] == "evaluation" and r["outcome"] == "finished"}
    missing = set(codes) - finished
    if missing:
        found.append(f"{len(missing)} evaluations have no finished ledger segment")
    for total in ("energy_kwh", "carbon_g"):
        summed = sum(r[total] for r in ledger)
        if not math.isclose(progress[total], summed, rel_tol=1e-6, abs_tol=1e-9):
            found.append(f"{total} is {progress[total]} but the ledger sums to {summed}")
    return found


def grant_warning(ledger: list[dict], gpus: int, hours: float) -> str | None:
    """How the GPU-seconds charged differ from the grant (gpus x hours), if they do."""
    charged, granted = sum(r["gpu_seconds"] for r in ledger), gpus * hours * 3600
    if math.isclose(charged, granted, rel_tol=1e-6):
        return None
    late = [r for r in ledger if r["end_hours"] is not None and r["end_hours"] > hours + 1e-9 and r["gpu_seconds"] > 0]
    return (f"the ledger charges {charged:.0f} GPU-seconds of a {granted:.0f} grant; "
            + ", ".join(f"{r['state']} {r['key']} ({r['outcome']}) ends at hour {r['end_hours']:.3f}" for r in late))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("search_id")
    parser.add_argument("--gpus", type=int, default=None, help="the spec's GPUs: check the whole grant is charged")
    parser.add_argument("--hours", type=float, default=None, help="the spec's budget hours")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the ledger to settle")
    parser.add_argument("--dump", default=None, help="write the search, its evaluations and its ledger here as JSON")
    args = parser.parse_args()
    settings = Settings()
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    with httpx.Client(base_url=settings.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        search = settled(http, args.search_id, args.timeout)
        evaluations = all_pages(http, f"/v1/searches/{args.search_id}/evaluations")
        ledger = all_pages(http, f"/v1/searches/{args.search_id}/ledger")
    if args.dump:
        with open(args.dump, "w") as out:
            json.dump({"search": search, "evaluations": evaluations, "ledger": ledger}, out, indent=1)
    found = problems(search, evaluations, ledger)
    warning = grant_warning(ledger, args.gpus, args.hours) if args.gpus and args.hours else None
    if warning:
        print(f"warning: {warning}")
    for line in found:
        print(f"FAILED: {line}")
    if found:
        return 1
    progress = search["progress"]
    print(f"ok: {search['status']}, {progress['evaluations']} evaluations = {len(evaluations)} rows, "
          f"{len(ledger)} ledger rows summing to {progress['energy_kwh']:.4f} kWh / {progress['carbon_g']:.1f} gCO2eq")
    return 0


if __name__ == "__main__":
    sys.exit(main())
