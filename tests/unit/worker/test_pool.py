from hypothesis import given
from hypothesis import strategies as st

from worker.pool import Role, assign, wanted_roles

E, S, P = Role.EVALUATION, Role.SAMPLING, Role.PARKED


def test_fills_from_parked_first_and_keeps_roles():
    workers = ["gpu0@a", "gpu1@a", "gpu2@a", "gpu3@a"]
    current = {"gpu0@a": E, "gpu1@a": S, "gpu2@a": P, "gpu3@a": P}
    result = assign(workers, current, evaluation=2, sampling=1)
    assert result["gpu0@a"] == E and result["gpu1@a"] == S
    assert sorted(result.values()) == sorted([E, E, S, P])
    assert result["gpu2@a"] == E  # the first parked worker was moved, not the sampler


def test_requests_beyond_the_pool_are_capped_evaluation_first():
    assert wanted_roles(4, 3, 3) == {E: 3, S: 1, P: 0}


@given(
    st.lists(st.sampled_from([E, S, P]), min_size=1, max_size=12),
    st.integers(0, 15),
    st.integers(0, 15),
)
def test_counts_match_and_moves_are_minimal(roles, evaluation, sampling):
    workers = [f"gpu{i}@h" for i in range(len(roles))]
    current = dict(zip(workers, roles))
    result = assign(workers, current, evaluation, sampling)
    wanted = wanted_roles(len(workers), evaluation, sampling)
    assert {r: list(result.values()).count(r) for r in (E, S, P)} == wanted
    # every working role keeps as many of its current holders as it still needs
    for role in (E, S):
        kept = sum(1 for w in workers if current[w] == role and result[w] == role)
        assert kept == min(list(current.values()).count(role), wanted[role])
