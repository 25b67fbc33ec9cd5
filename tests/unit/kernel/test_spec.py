import pytest
from pydantic import ValidationError

from cenas.spec import SearchSpec

EXAMPLE = {
    "name": "hw-nas-demo",
    "task": {"kind": "nb201", "dataset": "cifar10",
             "objectives": [{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}]},
    "gpus": 8,
    "budget": {"hours": 80, "carbon_g": None},
    "carbon": {"region": "US-CAL-CISO", "signal": "replay", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": 2},
    "policy": "rl",
    "optimizer": {"sampler": "random", "seed": 0},
    "accounting": "full",
}


def with_change(path: str, value):
    import copy

    spec = copy.deepcopy(EXAMPLE)
    node = spec
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[leaf]
    else:
        node[leaf] = value
    return spec


def test_the_api_example_is_valid():
    spec = SearchSpec.model_validate(EXAMPLE)
    assert spec.carbon.start.isoformat() == "2021-07-02T06:00:00+00:00"
    assert spec.task.objectives[1].name == "edgegpu_energy"


@pytest.mark.parametrize(
    ("path", "value", "loc", "fragment"),
    [
        ("gpus", 0, ("gpus",), "greater than or equal to 1"),
        ("gpus", "eight", ("gpus",), "valid integer"),
        ("surprise", 1, ("surprise",), "Extra inputs are not permitted"),
        ("task.objectives", [], ("task", "objectives"), "at least 2"),
        ("task.kind", "jax", ("task", "kind"), "'nb201' or 'torch'"),
        ("task.objectives", [{"name": "accuracy", "goal": "max"}, {"name": "watts", "goal": "min"}], ("task",), "objective 'watts' is not available"),
        ("budget", {"hours": None, "carbon_g": None}, ("budget",), "at least one of budget.hours"),
        ("budget.hours", -1, ("budget", "hours"), "greater than 0"),
        ("carbon.region", "MARS", ("carbon",), "region 'MARS' has no bundled trace"),
        ("carbon.start", "2030-01-01T00:00:00Z", ("carbon",), "is outside trace US-CAL-CISO"),
        ("policy", "greedy", ("policy",), "unknown policy 'greedy'"),
        ("policy", "static:9", (), "needs more evaluation GPUs than gpus=8"),
    ],
)
def test_errors_name_the_field(path, value, loc, fragment):
    with pytest.raises(ValidationError) as info:
        SearchSpec.model_validate(with_change(path, value))
    errors = info.value.errors()
    assert any(tuple(e["loc"][: len(loc)]) == loc and fragment in e["msg"] for e in errors), errors


def test_uploaded_trace_allows_any_region():
    spec = with_change("carbon", {"region": "my-grid", "trace": [{"timestamp": "2024-01-01T00:00:00Z", "carbon_intensity": 100}]})
    assert SearchSpec.model_validate(spec).carbon.region == "my-grid"
