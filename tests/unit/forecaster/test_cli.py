"""`cenas forecast train/eval`: JSON contract and one-line user errors with exit code 2."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from cenas_cli import main

from .conftest import START, synthetic


@pytest.fixture
def trace_file(tmp_path):
    s = synthetic(24 * 40)
    lines = ["timestamp,carbon_intensity"] + [
        f"{(START + timedelta(hours=i)):%Y-%m-%dT%H:%M:%SZ},{v:.3f}" for i, v in enumerate(s.values)
    ]
    path = tmp_path / "trace.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_eval_naive_on_a_trace_file(trace_file, tmp_path, capsys):
    code, out, err = run(["forecast", "eval", "--trace-file", str(trace_file), "--model", "naive",
                          "--test-start", "2021-01-25T00:00:00Z", "--test-end", "2021-02-13T00:00:00Z",
                          "--json", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["region"] == "trace" and result["model"] == "naive"
    assert set(result["mape"]) == {"day1", "day2", "day3"} and set(result["mae"]) == {"day1", "day2", "day3"}
    assert result["forecasts"] == 17
    assert all(0 < v < 100 for v in result["mape"].values())
    assert json.loads((tmp_path / "r.json").read_text()) == result


def test_eval_shorter_horizon_has_fewer_days(trace_file, capsys):
    code, out, _ = run(["forecast", "eval", "--trace-file", str(trace_file), "--model", "naive",
                        "--test-start", "2021-01-25", "--test-end", "2021-02-13", "--horizon-hours", "24"], capsys)
    assert code == 0 and set(json.loads(out)["mape"]) == {"day1"}


def test_train_writes_a_reproducible_model_dir(trace_file, tmp_path, capsys):
    out_dir = tmp_path / "model"
    code, out, err = run(["forecast", "train", "--trace-file", str(trace_file), "--model", "lightgbm",
                          "--threads", "1", "--out", str(out_dir)], capsys)
    assert code == 0, err
    manifest = json.loads((out_dir / "model.json").read_text())
    assert manifest["model"] == "lightgbm" and manifest["seed"] == 0
    assert manifest["train_start"] == "2021-01-04T00:00:00Z" and manifest["train_end"] == "2021-02-13T00:00:00Z"
    assert {"lightgbm", "numpy", "torch", "transformers"} <= set(manifest["library_versions"])
    assert json.loads(out)["out"] == str(out_dir)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["forecast", "eval", "--region", "Atlantis"], "unknown region 'Atlantis'"),
        (["forecast", "eval", "--region", "DE", "--model", "prophet"], "unknown model 'prophet'"),
        (["forecast", "eval"], "exactly one of --region or --trace-file"),
        (["forecast", "eval", "--region", "DE", "--test-start", "yesterday"], "not an ISO-8601 time"),
        (["forecast", "eval", "--region", "DE", "--train-end", "2022-01-01", "--test-start", "2021-07-01"],
         "after --test-start"),
        (["forecast", "eval", "--trace-file", "/nonexistent.csv"], "cannot read trace file"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, message, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_eval_window_outside_the_trace_is_a_clear_error(trace_file, capsys):
    code, _, err = run(["forecast", "eval", "--trace-file", str(trace_file), "--model", "naive",
                        "--test-start", "2021-02-10", "--test-end", "2021-03-30"], capsys)
    assert code == 2 and "ends before" in err and err.count("\n") == 1


def test_a_weather_model_without_weather_is_a_user_error(trace_file, capsys):
    """A trace file has no bundled weather: `lightgbm_weather` refuses with one line."""
    code, _, err = run(["forecast", "eval", "--trace-file", str(trace_file), "--model", "lightgbm_weather",
                        "--test-start", "2021-01-25T00:00:00Z", "--test-end", "2021-02-13T00:00:00Z"], capsys)
    assert code == 2 and err.startswith("error:") and "has none bundled" in err and len(err.strip().splitlines()) == 1
