"""The client class over the real app (in process) and the CLI's error lines."""

import json

import pytest

from cenas.client import GatewayClient, describe_detail, read_spec_file
from cenas.db import make_engine
from cenas.errors import GatewayError, GatewayUnavailableError, SpecFileError
from cenas.settings import Settings
from cenas_cli import main
from gateway.auth import find_api_key
from tests.unit.kernel.test_spec import EXAMPLE, with_change


def test_client_round_trip_and_errors(client, alice):
    key = alice["Authorization"].removeprefix("Bearer ")
    api = GatewayClient("http://testserver", key, http=client)
    created = api.submit(EXAMPLE)
    assert api.search(created["id"])["status"] == "queued"
    assert [s["id"] for s in api.searches()["items"]] == [created["id"]]
    assert api.pareto(created["id"])["points"] == [] and api.evaluations(created["id"])["total"] == 0
    assert api.decisions(created["id"])["items"] == []
    assert api.cancel(created["id"])["status"] == "cancelled"
    with pytest.raises(GatewayError, match="gpus: Input should be greater than or equal to 1") as bad:
        api.submit(with_change("gpus", 0))
    assert bad.value.status_code == 422
    with pytest.raises(GatewayError, match="404.*no forecast stored"):
        api.forecast("DE")
    with pytest.raises(GatewayError, match="401.*invalid or revoked API key"):
        GatewayClient("http://testserver", "cenas_wrong", http=client).searches()
    with pytest.raises(GatewayUnavailableError, match="unreachable"), GatewayClient("http://127.0.0.1:1", key, timeout=2) as down:
        down.search("x")


def test_describe_detail_names_fields():
    detail = [{"loc": ["body", "task", "objectives"], "msg": "too short"}, {"loc": ["query", "limit"], "msg": "bad"}]
    assert describe_detail(detail) == "task.objectives: too short; limit: bad"
    assert describe_detail("search x not found") == "search x not found"


def test_read_spec_file_json_yaml_and_mistakes(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(EXAMPLE))
    (tmp_path / "s.yaml").write_text("name: demo\ngpus: 2\n")
    assert read_spec_file(tmp_path / "s.json") == EXAMPLE and read_spec_file(tmp_path / "s.yaml") == {"name": "demo", "gpus": 2}
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    (tmp_path / "list.yml").write_text("- a\n")
    for name, message in (("missing.json", "not found"), ("bad.yaml", "not valid YAML"), ("list.yml", "must hold a mapping")):
        with pytest.raises(SpecFileError, match=message):
            read_spec_file(tmp_path / name)


def run_cli(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_cli_mistakes_are_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CENAS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CENAS_API_KEY", raising=False)
    (tmp_path / "s.json").write_text(json.dumps(EXAMPLE))
    code, _, err = run_cli(["submit", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and "not found" in err
    code, _, err = run_cli(["status", "abc"], capsys)
    assert code == 2 and "CENAS_API_KEY" in err
    monkeypatch.setenv("CENAS_API_KEY", "cenas_x")
    monkeypatch.setenv("CENAS_GATEWAY_URL", "http://127.0.0.1:1")
    for argv in (["submit", str(tmp_path / "s.json")], ["report", "abc"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and err.startswith("error: gateway at http://127.0.0.1:1 unreachable") and "Traceback" not in err


def test_keys_create_prints_the_key_alone_on_the_last_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CENAS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CENAS_DATABASE_URL", raising=False)
    code, out, _ = run_cli(["keys", "create", "--name", "ci"], capsys)
    key = out.splitlines()[-1]
    assert code == 0 and key.startswith("cenas_") and " " not in key
    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    assert find_api_key(engine, key=key).name == "ci"
    engine.dispose()
    code, _, err = run_cli(["keys", "create", "--name", " "], capsys)
    assert code == 2 and "name" in err


def test_report_pieces_order_the_front_and_sum_up_carbon():
    from rich.console import Console

    from cenas_cli.searches import pareto_table, status_lines, summary

    pareto = {"objectives": [{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}],
              "points": [{"architecture": "|a~0|", "values": {"accuracy": 90.1, "edgegpu_energy": 20.0}},
                         {"architecture": "|b~0|", "values": {"accuracy": 94.3, "edgegpu_energy": 35.5}}]}
    console = Console(width=120, record=True)
    console.print(pareto_table(pareto))
    text = console.export_text()
    assert text.index("|b~0|") < text.index("|a~0|") and "edgegpu_energy (min)" in text
    search = {"id": "s1", "name": "demo", "status": "succeeded", "error": None,
              "progress": {"elapsed_hours": 80.0, "evaluations": 4, "samples": 10, "hypervolume": 4000.0, "carbon_g": 100.0, "energy_kwh": 0.5},
              "allocation": {"evaluation": 7, "sampling": 1, "idle": 0}}
    assert summary(search)["carbon_g_per_evaluation"] == 25.0
    assert status_lines(search)[0] == "search s1 (demo): succeeded" and "7 evaluation, 1 sampling, 0 idle" in status_lines(search)[-1]
