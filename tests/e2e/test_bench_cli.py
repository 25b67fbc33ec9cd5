"""`cenas bench` end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def cenas(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cenas_cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_short_bench_writes_summary_plots_and_table(tmp_path):
    out = tmp_path / "out"
    proc = cenas("bench", "--hours", "6", "--seeds", "2", "--policy", "vanilla", "--policy", "heuristic",
                 "--policy", "static:3", "--accounting", "paper", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problem"] == "nb201:cifar10:edgegpu_energy" and summary["region"] == "US-CAL-CISO"
    assert summary["start"] == "2021-07-02T06:00:00Z" and summary["gpus"] == 8 and summary["hours"] == 6
    assert summary["accounting"] == "paper" and summary["max_hypervolume"] == pytest.approx(4155.37, abs=0.01)
    assert [(r["policy"], r["seed"]) for r in summary["runs"]] == [(p, s) for p in ("vanilla", "heuristic", "static:3") for s in (0, 1)]
    for run in summary["runs"]:
        assert {"final_hypervolume", "carbon_g", "energy_kwh", "evaluations", "trace"} <= run.keys()
        trace = run["trace"]
        assert [row["hour"] for row in trace] == list(range(7))
        assert set(trace[0]) >= {"hour", "hypervolume", "carbon_g", "energy_kwh", "evaluations", "gpus_evaluation", "gpus_sampling", "intensity"}
        assert trace[-1]["hypervolume"] == run["final_hypervolume"] and trace[-1]["carbon_g"] == run["carbon_g"]
        assert 0 < run["final_hypervolume"] <= summary["max_hypervolume"]
    vanilla = [r for r in summary["runs"] if r["policy"] == "vanilla"]
    assert all(row["gpus_evaluation"] == 8 for r in vanilla for row in r["trace"][1:])
    for name in ("hv_vs_time.png", "hv_vs_carbon.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "vanilla" in proc.stdout and "heuristic" in proc.stdout


def test_bench_reads_a_trace_file(tmp_path):
    lines = ["timestamp,carbon_intensity"] + [f"2022-03-01T{h:02d}:00:00Z,{100 + 10 * h}" for h in range(10)]
    trace = tmp_path / "my.csv"
    trace.write_text("\n".join(lines) + "\n")
    proc = cenas("bench", "--trace-file", str(trace), "--start", "2022-03-01T02:00:00Z", "--hours", "4",
                 "--seeds", "1", "--policy", "oneshot", "--gpus", "2", "--optimizer", "random", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert [row["intensity"] for row in summary["runs"][0]["trace"][1:]] == [120.0, 130.0, 140.0, 150.0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policy", "greedy"], "unknown policy 'greedy'"),
        (["--region", "MARS"], "unknown region 'MARS'"),
        (["--start", "2019-01-01T00:00:00Z"], "is outside trace US-CAL-CISO"),
        (["--start", "2023-12-30T00:00:00Z", "--hours", "80"], "run past the end of trace US-CAL-CISO"),
        (["--start", "soon"], "--start 'soon' is not an ISO-8601 timestamp"),
        (["--problem", "nb201:cifar10:watts"], "unknown HW-NAS-Bench metric 'watts'"),
        (["--carbon-cap-g", "-5"], "--carbon-cap-g must be > 0, got -5.0"),
        (["--trace-file", "/nonexistent.csv"], "cannot read trace file"),
    ],
)
def test_bad_options_give_one_clear_line(tmp_path, args, fragment):
    proc = cenas("bench", "--seeds", "1", "--hours", "2", "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
    assert not (tmp_path / "o" / "summary.json").exists()


def test_typer_usage_errors_exit_2():
    proc = cenas("bench", "--gpus", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
