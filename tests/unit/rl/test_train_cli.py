"""`cenas scheduler train` end to end on a tiny budget: policy file, recipe, loadable."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cenas_cli import app, main
from scheduler_svc.rl.env import TINY
from scheduler_svc.rl.policy import RLPolicy
from scheduler_svc.rl.train import evaluate


def test_train_writes_policy_and_recipe(tmp_path):
    out = tmp_path / "p.zip"
    result = CliRunner().invoke(app, ["scheduler", "train", "--timesteps", "64", "--n-envs", "1", "--n-steps", "64", "--eval-episodes", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    recipe = json.loads(out.with_suffix(".json").read_text())
    assert recipe["seed"] == 0 and recipe["timesteps_done"] >= 64
    assert recipe["data_window"] == {"start": "2021-01-01T00:00:00Z", "end": "2023-01-01T00:00:00Z", "regions": ["US-CAL-CISO", "US-MIDA-PJM", "DE", "US-TEX-ERCO", "GB"]}
    assert {"stable-baselines3", "gymnasium", "torch"} <= set(recipe["libraries"])
    assert RLPolicy(out).load() is not None
    assert recipe["proposer"] == "lamoo" and recipe["continued_from"] is None


def test_fine_tuning_continues_a_policy_and_records_its_history(tmp_path):
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    common = ["scheduler", "train", "--n-envs", "1", "--n-steps", "32", "--eval-episodes", "0"]
    result = CliRunner().invoke(app, [*common, "--timesteps", "32", "--optimizer", "random", "--out", str(first)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, [*common, "--timesteps", "64", "--init", str(first), "--learning-rate", "1e-4", "--out", str(second)])
    assert result.exit_code == 0, result.output
    recipe = json.loads(second.with_suffix(".json").read_text())
    assert recipe["proposer"] == "lamoo" and recipe["hyperparameters"]["learning_rate"] == 1e-4
    assert recipe["continued_from"]["file"] == "first.zip" and recipe["continued_from"]["recipe"]["proposer"] == "random"
    assert 64 <= recipe["timesteps_done"] < 64 + 32  # this run's steps, not the total since the first
    assert RLPolicy(second).load().num_timesteps >= 96


def test_fine_tuning_from_a_missing_file_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", "--init", str(tmp_path / "nope.zip"), "--out", str(tmp_path / "p.zip")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.zip not found" in err and "Traceback" not in err
    assert not (tmp_path / "p.zip").exists()


def test_evaluate_compares_policies_on_the_same_draws(nb201):
    results = evaluate(["heuristic", "mpc"], 2, seed=0, env_config=TINY)
    assert set(results) == {"heuristic", "mpc"}
    assert all(0 <= r["median_hv_fraction"] <= 1 and r["median_carbon_g"] > 0 for r in results.values())


def test_help_lists_train():
    result = CliRunner().invoke(app, ["scheduler", "--help"])
    assert result.exit_code == 0 and "train" in result.output


def test_region_weights_reach_the_recipe(tmp_path):
    out = tmp_path / "p.zip"
    args = ["scheduler", "train", "--timesteps", "32", "--n-envs", "1", "--n-steps", "32", "--eval-episodes", "0", "--optimizer", "random"]
    result = CliRunner().invoke(app, [*args, "--region", "US-CAL-CISO", "--region", "US-CAL-CISO", "--region", "GB", "--out", str(out)])
    assert result.exit_code == 0, result.output
    recipe = json.loads(out.with_suffix(".json").read_text())
    assert recipe["data_window"]["regions"] == ["US-CAL-CISO", "US-CAL-CISO", "GB"]


def test_an_unknown_region_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", "--region", "MARS", "--out", str(tmp_path / "p.zip")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "MARS" in err and "--region" in err and "Traceback" not in err
    assert not (tmp_path / "p.zip").exists()


def test_planner_advice_widens_a_policy_that_then_acts_as_before(tmp_path):
    """Fine-tuning a plain policy with --planner-advice adds zero-weight inputs: with no
    learning (rate 0) the widened policy picks the source's action whatever the advice."""
    import numpy as np

    from scheduler_svc.rl.advice import ADVICE_FEATURES, N_ADVISED_FEATURES
    from scheduler_svc.rl.features import N_FEATURES
    from tests.unit.rl.test_policy_loading import CONTEXT, OBS

    plain, advised = tmp_path / "plain.zip", tmp_path / "advised.zip"
    common = ["scheduler", "train", "--n-envs", "1", "--n-steps", "32", "--eval-episodes", "0", "--optimizer", "random"]
    assert CliRunner().invoke(app, [*common, "--timesteps", "32", "--out", str(plain)]).exit_code == 0
    result = CliRunner().invoke(app, [*common, "--timesteps", "32", "--init", str(plain), "--planner-advice", "--learning-rate", "0", "--out", str(advised)])
    assert result.exit_code == 0, result.output
    assert json.loads(advised.with_suffix(".json").read_text())["planner_advice"] is True
    source, widened = RLPolicy(plain).load(), RLPolicy(advised).load()
    assert widened.observation_space.shape == (N_ADVISED_FEATURES,)
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 2, (256, N_FEATURES)).astype(np.float32)
    advice = rng.uniform(0, 1, (256, len(ADVICE_FEATURES))).astype(np.float32)
    before, _ = source.predict(features, deterministic=True)
    after, _ = widened.predict(np.hstack([features, advice]), deterministic=True)
    assert np.array_equal(before, after) and len(set(before.tolist())) > 1
    policy = RLPolicy(advised)
    policy.reset(CONTEXT)  # runs the planner beside the network
    assert policy.decide(OBS).total == CONTEXT.gpus


def test_widening_refuses_a_different_network():
    import torch

    from scheduler_svc.rl.train import widen_into

    with pytest.raises(ValueError, match="cannot widen"):
        widen_into(torch.nn.Linear(4, 8), torch.nn.Linear(4, 9))
    with pytest.raises(ValueError, match="more than their input width"):
        widen_into(torch.nn.Linear(4, 8), torch.nn.Sequential(torch.nn.Linear(6, 8)))


def test_leave_one_region_out_planner_training_validates_checkpoints_and_ships_a_policy_that_acts(tmp_path):
    from scheduler_svc.rl.policy import policy_kind
    from tests.unit.rl.test_policy_loading import CONTEXT, OBS

    out = tmp_path / "loro.zip"
    result = CliRunner().invoke(app, [
        "scheduler", "train", "--actions", "planner", "--hold-out", "DE", "--synthetic", "0.5", "--randomise", "0.5",
        "--paper-share", "0.5", "--timesteps", "64", "--n-envs", "1", "--n-steps", "32", "--checkpoints", "2",
        "--validation-episodes", "1", "--eval-episodes", "0", "--optimizer", "random", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    recipe = json.loads(out.with_suffix(".json").read_text())
    assert "DE" not in recipe["data_window"]["regions"] and len(recipe["data_window"]["regions"]) == 4
    assert recipe["actions"] == "planner" and recipe["environment"]["synthetic_probability"] == 0.5
    assert recipe["environment"]["accounting"] == [["full", 0.5], ["paper", 0.5]]
    validation = recipe["validation"]
    assert [c["steps"] for c in validation["checkpoints"]] == [32, 64] and validation["chosen_steps"] in (32, 64)
    assert recipe["timesteps_done"] == 64  # the steps trained, whichever checkpoint ships
    assert "2022-10-01" in validation["window"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loro.json", "loro.zip"]  # checkpoints cleaned up
    policy = RLPolicy(out)
    policy.reset(CONTEXT)
    assert policy_kind(policy.load()) == "planner" and policy.decide(OBS).total == 8


@pytest.mark.parametrize("args, message", [
    (["--hold-out", "MARS"], "unknown region 'MARS'"),
    (["--hold-out", "DE", "--region", "DE"], "every region is held out"),
    (["--actions", "gpus"], "actions must be"),
])
def test_bad_training_options_are_one_clear_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", *args, "--out", str(tmp_path / "p.zip")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_recipe_trains_the_same_policy_again(tmp_path):
    """`--recipe` reproduces a run from its recipe file alone: same config, same weights."""
    import torch

    from scheduler_svc.rl.train import config_from_recipe

    first, again = tmp_path / "first.zip", tmp_path / "again.zip"
    result = CliRunner().invoke(app, [
        "scheduler", "train", "--actions", "planner", "--synthetic", "0.5", "--hold-out", "GB", "--prior-logit", "2",
        "--timesteps", "32", "--n-envs", "1", "--n-steps", "32", "--eval-episodes", "0", "--optimizer", "random", "--seed", "7",
        "--out", str(first),
    ])
    assert result.exit_code == 0, result.output
    recorded = json.loads(first.with_suffix(".json").read_text())
    config = config_from_recipe(recorded)
    assert config.seed == 7 and config.prior_logit == 2 and config.env.actions == "planner" and "GB" not in config.env.regions
    result = CliRunner().invoke(app, ["scheduler", "train", "--recipe", str(first.with_suffix(".json")), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert json.loads(again.with_suffix(".json").read_text())["environment"] == recorded["environment"]
    a, b = RLPolicy(first).load().policy.state_dict(), RLPolicy(again).load().policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bad_or_fine_tuning_recipe_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", "--recipe", str(bad), "--out", str(tmp_path / "p.zip")])
    assert exited.value.code == 2 and "is not a training recipe" in flat(capsys.readouterr().err)
    from scheduler_svc.rl.policy import DEFAULT_POLICY_PATH

    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", "--recipe", str(DEFAULT_POLICY_PATH.with_suffix(".json")), "--out", str(tmp_path / "p.zip")])
    err = flat(capsys.readouterr().err)
    assert exited.value.code == 2 and "give that file with --init" in err and "Traceback" not in err


def flat(text: str) -> str:
    """A CLI error as one line, whatever box and wrapping the terminal gave it."""
    return " ".join(text.replace("│", " ").split())


def test_training_on_the_real_forecasters_errors(tmp_path, capsys):
    out = tmp_path / "b.zip"
    result = CliRunner().invoke(app, ["scheduler", "train", "--forecast", "backtest:0.7", "--forecast", "naive:0.3", "--timesteps", "32",
                                      "--n-envs", "1", "--n-steps", "32", "--eval-episodes", "0", "--optimizer", "random", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.with_suffix(".json").read_text())["environment"]["forecasts"] == [["backtest", 0.7], ["naive", 0.3]]
    with pytest.raises(SystemExit) as exited:
        main(["scheduler", "train", "--forecast", "crystal:1", "--out", str(tmp_path / "p.zip")])
    assert exited.value.code == 2 and "NAME one of" in flat(capsys.readouterr().err)
