"""Hostile input: schemathesis over every operation of the gateway's OpenAPI schema.

CI-sized (about 200 generated requests, a few seconds); `CENAS_FUZZ_EXAMPLES=500`
raises the examples per operation and mode, and `benchmarks/gateway_fuzz.py` runs the long
form and prints its figures. See `fuzzing.py` for what is generated and checked.
"""

import os

from tests.unit.gateway.fuzzing import build_target, fuzz

EXAMPLES = int(os.environ.get("CENAS_FUZZ_EXAMPLES", "10"))


def test_every_operation_survives_generated_input_and_conforms_to_its_schema(tmp_path):
    target = build_target(tmp_path)
    try:
        report = fuzz(target, examples=EXAMPLES)
    finally:
        target.close()
    assert report.server_errors == 0 and not report.failures, report.summary()
    paths = {label.split(" ", 1)[1] for label in report.per_operation}
    schema_paths = set(target.app.openapi()["paths"])
    assert paths == schema_paths  # every operation was exercised
    assert report.statuses[401] and report.statuses[404] and report.statuses[200]
