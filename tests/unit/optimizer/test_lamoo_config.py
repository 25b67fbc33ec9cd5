"""Constructor and call validation: bad values fail early with a ValueError quoting them."""

from __future__ import annotations

import numpy as np
import pytest

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo import LaMOO, LaMOOConfig

REF = np.array([0.0, -50.0])


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"min_leaf_size": 0}, "0"),
        ({"min_leaf_size": 2.5}, "2.5"),
        ({"min_leaf_size": True}, "True"),
        ({"max_height": -1}, "-1"),
        ({"max_height": "3"}, "'3'"),
        ({"cp_fraction": -0.1}, "-0.1"),
        ({"cp_fraction": float("nan")}, "nan"),
        ({"max_hypervolume": 0.0}, "0.0"),
        ({"max_hypervolume": float("inf")}, "inf"),
        ({"selection": "greedy"}, "'greedy'"),
        ({"kernel": "linear"}, "'linear'"),
        ({"sampler": "cmaes"}, "'cmaes'"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ValueError, match=f"{next(iter(kwargs))}.*{quoted}"):
        LaMOOConfig(**kwargs)  # type: ignore[arg-type]


def test_config_defaults_follow_the_paper() -> None:
    config = LaMOOConfig()
    assert (config.min_leaf_size, config.max_height, config.cp_fraction) == (10, 3, 0.1)
    assert (config.selection, config.kernel, config.sampler, config.max_hypervolume) == ("mcts", "rbf", "random", None)


def test_optimizer_rejects_bad_arguments() -> None:
    space = CellSpace()
    with pytest.raises(ValueError, match="ref_point"):
        LaMOO(space, np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="ref_point"):
        LaMOO(space, np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="seed.*'1'"):
        LaMOO(space, REF, seed="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config"):
        LaMOO(space, REF, config={"min_leaf_size": 3})  # type: ignore[arg-type]


def test_tell_and_ask_reject_bad_input() -> None:
    opt = LaMOO(CellSpace(), REF)
    with pytest.raises(ValueError, match=r"values must be 2 x 2, got shape \(2, 3\)"):
        opt.tell(np.array([1, 2]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        opt.tell(np.array([1]), np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="integers"):
        opt.tell(np.array([1.5]), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\[0, 15625\)"):
        opt.tell(np.array([15625]), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="n must be an int >= 0, got -1"):
        opt.ask(-1)
    assert opt.n_samples == 0  # failed tells leave nothing behind
