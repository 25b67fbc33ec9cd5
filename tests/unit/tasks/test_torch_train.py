"""The torch task's data presets, training recipe, checkpoint resume and cached supernet."""

import pickle

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from cenas.errors import CenasError
from cenas.spec import SearchSpec
from cenas.tasks.torch import NetworkShape, TorchProblem, TorchRunner
from cenas.tasks.torch.data import DatasetError, load_cifar10, load_dataset, load_digits
from cenas.tasks.torch.model import build_network
from cenas.tasks.torch.train import Interrupted, fit, recipe_for, seeded
from tests.unit.kernel.test_spec import EXAMPLE

TINY = NetworkShape(width=4, depth=1)
CODE = 9876
pytestmark = pytest.mark.usefixtures("one_thread")


def test_digits_split_is_fixed_stratified_and_disjoint():
    data = load_digits()
    assert (len(data.train), len(data.val), len(data.test)) == (1077, 360, 360)
    assert data.shape == (1, 8, 8) and data.n_classes == 10
    for split in (data.val, data.test):
        counts = np.bincount(split.y.numpy(), minlength=10)
        assert counts.min() >= 35 and counts.max() <= 37  # stratified: ~36 per class
    assert abs(float(data.train.x.mean())) < 1e-4  # standardised with the train statistics
    rows = {tuple(r) for r in data.train.x.flatten(1).numpy().round(4).tolist()}
    assert sum(tuple(r) in rows for r in data.test.x.flatten(1).numpy().round(4).tolist()) < 5  # (a few digits repeat)


def _batch(path, n=20, *, data=None, labels=None):
    rng = np.random.default_rng(len(str(path)))
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8) if data is None else data
    labels = list(np.arange(n) % 10) if labels is None else labels
    with open(path, "wb") as handle:
        pickle.dump({b"data": data, b"labels": labels}, handle)


def _cifar_dir(root):
    root.mkdir()
    for i in range(1, 6):
        _batch(root / f"data_batch_{i}")
    _batch(root / "test_batch")
    return root


def test_cifar10_reads_python_batches(tmp_path):
    data = load_dataset("cifar10", cifar10_dir=_cifar_dir(tmp_path / "c10"))
    assert data.shape == (3, 32, 32) and (len(data.train), len(data.val), len(data.test)) == (90, 10, 20)


def test_cifar10_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="CENAS_CIFAR10_DIR"):
        load_cifar10(None)
    with pytest.raises(DatasetError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")
    root = _cifar_dir(tmp_path / "c10")
    (root / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3 is missing"):
        load_cifar10(root)
    (root / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_3 is not a python-pickle batch"):
        load_cifar10(root)
    _batch(root / "data_batch_3", data=np.zeros((4, 100), dtype=np.uint8), labels=[0, 1, 2, 3])
    with pytest.raises(DatasetError, match=r"data_batch_3 is malformed: data \(4, 100\)"):
        load_cifar10(root)
    with open(root / "test_batch", "wb") as handle:
        pickle.dump([1, 2, 3], handle)
    _batch(root / "data_batch_3")
    with pytest.raises(CenasError, match="test_batch is malformed: expected a dict"):
        load_cifar10(root)
    with pytest.raises(DatasetError, match="unknown torch dataset 'mnist'"):
        load_dataset("mnist")


def _tiny_run(tmp_path, name, epochs, on_epoch_end=None):
    model = seeded(lambda: build_network(CODE, TINY, 1, 10), 0)
    result = fit(model, load_digits(), recipe_for("digits", epochs), torch.device("cpu"), tmp_path / name,
                 fingerprint={"code": CODE}, on_epoch_end=on_epoch_end)
    return model, result


def test_one_tiny_epoch_on_digits(tmp_path):
    _, result = _tiny_run(tmp_path, "one.pt", 1)
    assert result.epochs_run == [0] and len(result.history) == 1
    assert np.isfinite(result.history[0]["loss"]) and result.history[0]["val_accuracy"] > 10  # better than chance


def test_an_interrupted_run_resumes_after_its_last_epoch(tmp_path):
    whole, uninterrupted = _tiny_run(tmp_path, "whole.pt", 2)

    def stop_after_first(completed):
        if completed == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        _tiny_run(tmp_path, "cut.pt", 2, stop_after_first)
    assert torch.load(tmp_path / "cut.pt", weights_only=False)["epoch"] == 1
    resumed, result = _tiny_run(tmp_path, "cut.pt", 2)  # a fresh process would do exactly this
    assert result.epochs_run == [1]  # epoch 0 was not trained again
    assert [h["epoch"] for h in result.history] == [0, 1]
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert [h["loss"] for h in result.history] == [h["loss"] for h in uninterrupted.history]
    _, again = _tiny_run(tmp_path, "cut.pt", 2)  # a finished checkpoint trains nothing
    assert again.epochs_run == []


def test_the_supernet_is_trained_once_and_reused(tmp_path):
    problem = TorchProblem("digits", "nb201-cell-w4-d1", ("accuracy", "params"), epochs=1)
    runner = TorchRunner(problem, tmp_path, "search-a", device=torch.device("cpu"), latency_repeats=2)
    codes = [CODE, 0, 11718]
    first = runner.sample(codes)
    path = runner.supernet_path()
    stamp = path.stat().st_mtime_ns
    later = TorchRunner(problem, tmp_path, "search-a", device=torch.device("cpu"), latency_repeats=2)  # another task/worker
    second = later.sample(codes)
    assert path.stat().st_mtime_ns == stamp  # loaded, not retrained
    assert [m["accuracy"] for m in first] == [m["accuracy"] for m in second]
    for metrics in second:
        assert set(metrics) == {"accuracy", "params", "flops", "latency_ms"} and 0 <= metrics["accuracy"] <= 100
    assert second[1]["params"] < second[2]["params"]


def _torch_spec(**task):
    return {**EXAMPLE, "policy": "heuristic", "task": {"kind": "torch", **task}}


def test_torch_spec_defaults_and_errors():
    task = SearchSpec.model_validate(_torch_spec()).task
    assert (task.dataset, task.space, task.epochs) == ("digits", "nb201-cell-w16-d1", 30)
    assert [o.name for o in task.objectives] == ["accuracy", "params"]
    c10 = SearchSpec.model_validate(_torch_spec(dataset="cifar10", epochs=12)).task
    assert (c10.space, c10.epochs) == ("nb201-cell", 12)
    bad = [
        (dict(dataset="mnist"), "task.dataset 'mnist' is not a torch dataset"),
        (dict(space="resnet18"), "task.space: unknown torch space 'resnet18'"),
        (dict(objectives=[{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}]), "'edgegpu_energy' is not available"),
        (dict(objectives=[{"name": "accuracy", "goal": "max"}, {"name": "params", "goal": "max"}]), "'params' must have goal 'min'"),
        (dict(epochs=0), "greater than or equal to 1"),
    ]
    for change, fragment in bad:
        with pytest.raises(ValidationError, match=fragment):
            SearchSpec.model_validate(_torch_spec(**change))
