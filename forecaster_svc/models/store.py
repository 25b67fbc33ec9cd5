"""Saving and loading trained models: a directory with the model's files and ``model.json``.

``model.json`` records what is needed to reproduce and to trust the files: model name and
hyperparameters, the data (source, window, SHA-256 of the training values), the seed,
training time and the versions of the libraries that produced it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ModelFileError
from forecaster_svc.models import Forecaster, make_model

MANIFEST = "model.json"
FORMAT = 1
LIBRARIES = ("cenas", "numpy", "lightgbm", "torch", "transformers", "safetensors")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def values_digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def save_model(model: Forecaster, directory: Path, info: dict[str, Any]) -> Path:
    """Write ``model`` into ``directory`` (replacing what was there) with its manifest."""
    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    files = model.save_state(directory)
    manifest = {"format": FORMAT, "model": model.name, "hyperparameters": model.hyperparameters(),
                **info, "files": sorted(files), "library_versions": library_versions()}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    return directory


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{directory}: no {MANIFEST}; not a saved model directory") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable manifest: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: model format {manifest.get('format')!r}; this build reads {FORMAT}")
    return manifest


def load_model(directory: Path) -> tuple[Forecaster, dict[str, Any]]:
    manifest = read_manifest(directory)
    model = make_model(manifest["model"], **manifest["hyperparameters"])
    model.load_state(Path(directory))
    return model, manifest
