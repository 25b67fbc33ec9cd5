"""Data presets of the `torch` task: scikit-learn's digits (CPU, tests) and CIFAR-10 (files).

* `digits`: `sklearn.datasets.load_digits` (ships with scikit-learn, nothing to download):
  1,797 8x8 grayscale images, 10 classes, pixel values 0..16 scaled to [0, 1] and then
  standardised with the training split's mean/std. Split 60/20/20 train/val/test,
  stratified by class, with a fixed seed (`SPLIT_SEED`).
* `cifar10`: the standard python-pickle batches (`data_batch_1..5`, `test_batch`) read
  from a directory (setting `CENAS_CIFAR10_DIR`); never downloaded. The 50k training
  images are split 45k/5k train/val (stratified, `SPLIT_SEED`); `test_batch` is the test
  split. Per-channel standardisation with the training split's statistics.

Errors are `DatasetError` (a `CenasError`) naming the directory or file and what is wrong.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from cenas.errors import CenasError
from cenas.tasks.torch.space import DATASETS

SPLIT_SEED = 0
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_SHAPE = (3, 32, 32)


class DatasetError(CenasError, ValueError):
    """A dataset that cannot be loaded: missing directory or file, or a malformed file."""


@dataclass(frozen=True)
class Split:
    """Standardised float32 images (N x C x H x W) and int64 labels for one split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.train.x.shape[1:])  # type: ignore[return-value]


def _split(name: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray | None, y_test: np.ndarray | None,
           val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    """Stratified splits (a test split only when there is no separate test set), standardised
    per channel with the training split's statistics; `val_fraction` is of what remains."""
    if x_test is None:
        x, x_test, y, y_test = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_fraction, stratify=y, random_state=seed)
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6

    def make(xs: np.ndarray, ys: np.ndarray) -> Split:
        return Split(torch.from_numpy(((xs - mean) / std).astype(np.float32)), torch.from_numpy(ys.astype(np.int64)))

    return Dataset(name, make(x_train, y_train), make(x_val, y_val), make(x_test, y_test), int(y.max()) + 1)


@lru_cache(maxsize=2)
def load_digits(seed: int = SPLIT_SEED) -> Dataset:
    """Digits, split 60/20/20 (val is 25 % of the remaining 80 %)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    return _split("digits", x, bunch.target, None, None, val_fraction=0.25, test_fraction=0.2, seed=seed)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"CIFAR-10 file {path} is missing (expected {', '.join(CIFAR10_TRAIN_FILES)}, {CIFAR10_TEST_FILE})")
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
    except Exception as exc:  # truncated, not a pickle, wrong protocol...
        raise DatasetError(f"CIFAR-10 file {path} is not a python-pickle batch: {exc}") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"CIFAR-10 file {path} is malformed: expected a dict, found {type(batch).__name__}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DatasetError(f"CIFAR-10 file {path} is malformed: it needs 'data' and 'labels' entries")
    data, labels = np.asarray(data), np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != int(np.prod(CIFAR10_SHAPE)) or len(labels) != len(data):
        raise DatasetError(f"CIFAR-10 file {path} is malformed: data {data.shape} / labels {labels.shape}, expected N x 3072 / N")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"CIFAR-10 file {path} is malformed: labels must lie in 0..9")
    return data.reshape(-1, *CIFAR10_SHAPE).astype(np.float32) / 255.0, labels.astype(np.int64)


def load_cifar10(directory: Path | str | None, seed: int = SPLIT_SEED) -> Dataset:
    """CIFAR-10 from the python-pickle batches in `directory`; 45k/5k/10k train/val/test."""
    if directory is None:
        raise DatasetError("the cifar10 preset needs a directory of CIFAR-10 python batches: set CENAS_CIFAR10_DIR")
    root = Path(directory)
    if not root.is_dir():
        raise DatasetError(f"CIFAR-10 directory {root} does not exist (setting CENAS_CIFAR10_DIR)")
    parts = [_read_batch(root / name) for name in CIFAR10_TRAIN_FILES]
    x_test, y_test = _read_batch(root / CIFAR10_TEST_FILE)
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _split("cifar10", x, y, x_test, y_test, val_fraction=0.1, test_fraction=0.0, seed=seed)


def load_dataset(name: str, *, cifar10_dir: Path | str | None = None, seed: int = SPLIT_SEED) -> Dataset:
    if name == "digits":
        return load_digits(seed)
    if name == "cifar10":
        return load_cifar10(cifar10_dir, seed)
    raise DatasetError(f"unknown torch dataset {name!r}; choose one of {', '.join(DATASETS)}")
