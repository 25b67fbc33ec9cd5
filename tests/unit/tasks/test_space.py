import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cenas.tasks.space import CellSpace

SPACE = CellSpace()


def test_every_code_round_trips_through_ops_and_strings():
    codes = np.arange(SPACE.size)
    assert (SPACE.encode(SPACE.decode(codes)) == codes).all()
    for code in (0, 1, 777, SPACE.size - 1):
        assert SPACE.parse_arch_str(SPACE.arch_str(code)) == code


@given(st.lists(st.integers(0, 4), min_size=6, max_size=6))
def test_features_are_one_hot_per_edge(ops):
    code = SPACE.encode(np.array([ops]))
    feats = SPACE.features(code).reshape(6, 5)
    assert (feats.sum(axis=1) == 1).all() and feats.argmax(axis=1).tolist() == ops


def test_bad_inputs_are_value_errors():
    with pytest.raises(ValueError, match="codes must lie in"):
        SPACE.decode(np.array([SPACE.size]))
    with pytest.raises(ValueError, match="op ids must lie in"):
        SPACE.encode(np.array([[0, 0, 0, 0, 0, 9]]))
    with pytest.raises(ValueError, match="expected 6 edges"):
        SPACE.parse_arch_str("|none~0|")
    with pytest.raises(ValueError, match="bad edge"):
        SPACE.parse_arch_str("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_random_respects_the_valid_mask():
    valid = np.zeros(SPACE.size, dtype=bool)
    valid[[3, 5, 8]] = True
    space = CellSpace(valid=valid)
    drawn = space.random(200, np.random.default_rng(0))
    assert set(drawn.tolist()) == {3, 5, 8}
