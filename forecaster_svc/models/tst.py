"""Time-series transformer: HF ``transformers`` PatchTST, trained from scratch on CPU.

Context of ``context_length`` hours cut into day-long patches; the model predicts the
next ``max_horizon`` hours directly. Inputs are scaled per window (PatchTST's ``std``
scaler), so one model serves series of different levels. No hub download: the config is
built here and the weights start random (seeded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ModelFileError
from forecaster_svc.models.base import Forecaster, HourlySeries
from forecaster_svc.models.residuals import ResidualQuantiles


class PatchTSTForecaster(Forecaster):
    name = "tst"

    def __init__(
        self,
        *,
        context_length: int = 336,
        patch_length: int = 24,
        patch_stride: int = 12,
        d_model: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        ffn_dim: int = 128,
        dropout: float = 0.1,
        epochs: int = 6,
        max_windows_per_epoch: int = 3000,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.15,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        super().__init__()
        if context_length < 48 or context_length % patch_stride:
            raise ValueError(f"context_length must be >= 48 and a multiple of patch_stride, got {context_length!r}")
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model!r}) must be divisible by num_heads ({num_heads!r})")
        if epochs < 1 or batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {epochs!r}, {batch_size!r}")
        self.params = dict(
            context_length=context_length, patch_length=patch_length, patch_stride=patch_stride,
            d_model=d_model, num_layers=num_layers, num_heads=num_heads, ffn_dim=ffn_dim,
            dropout=dropout, epochs=epochs, max_windows_per_epoch=max_windows_per_epoch, batch_size=batch_size, learning_rate=learning_rate,
            validation_fraction=validation_fraction, seed=seed, threads=threads,
        )
        self.min_history = context_length
        self._model: Any = None
        self._residuals = ResidualQuantiles()
        self.epochs_used: int | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def _config(self) -> Any:
        from transformers import PatchTSTConfig

        p = self.params
        return PatchTSTConfig(
            num_input_channels=1, context_length=p["context_length"], prediction_length=self.max_horizon,
            patch_length=p["patch_length"], patch_stride=p["patch_stride"], d_model=p["d_model"],
            num_hidden_layers=p["num_layers"], num_attention_heads=p["num_heads"], ffn_dim=p["ffn_dim"],
            dropout=p["dropout"], attention_dropout=0.0, ff_dropout=0.0, head_dropout=p["dropout"],
            scaling="std", loss="mse", pooling_type=None, do_mask_input=False, random_mask_ratio=0.0,
        )

    def _windows(self, v: np.ndarray, issues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, h = self.params["context_length"], self.max_horizon
        x = np.stack([v[i - c : i] for i in issues]).astype(np.float32)[..., None]
        y = np.stack([v[i : i + h] for i in issues]).astype(np.float32)[..., None]
        return x, y

    def _fit(self, history: HourlySeries) -> None:
        import torch
        from transformers import PatchTSTForPrediction

        p, h = self.params, self.max_horizon
        torch.set_num_threads(p["threads"])
        gen = torch.Generator().manual_seed(p["seed"])
        torch.manual_seed(p["seed"])
        v = history.values
        issues = np.arange(p["context_length"], len(v) - h + 1)
        n_val = max(1, int(len(issues) * p["validation_fraction"]))
        tr = issues[:-n_val][issues[:-n_val] <= issues[-n_val] - h]
        va = issues[-n_val:][::6]
        x_tr, y_tr = (torch.from_numpy(a) for a in self._windows(v, tr))
        x_va, y_va = (torch.from_numpy(a) for a in self._windows(v, va))
        model = PatchTSTForPrediction(self._config())
        opt = torch.optim.AdamW(model.parameters(), lr=p["learning_rate"], weight_decay=1e-4)
        per_epoch = min(len(tr), p["max_windows_per_epoch"])
        steps = p["epochs"] * -(-per_epoch // p["batch_size"])
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=p["learning_rate"], total_steps=steps)
        best, best_state, best_epoch = np.inf, None, 0
        for epoch in range(p["epochs"]):
            model.train()
            order = torch.randperm(len(tr), generator=gen)[:per_epoch]
            for b in range(0, per_epoch, p["batch_size"]):
                idx = order[b : b + p["batch_size"]]
                out = model(past_values=x_tr[idx], future_values=y_tr[idx])
                opt.zero_grad()
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
            model.eval()
            with torch.no_grad():
                pred = model(past_values=x_va).prediction_outputs
            err = float(torch.mean(torch.abs(pred - y_va) / torch.abs(y_va)))
            if err < best:
                best, best_epoch = err, epoch + 1
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        model.load_state_dict(best_state)
        model.eval()
        self._model = model
        self.epochs_used = best_epoch
        with torch.no_grad():
            pred = model(past_values=x_va).prediction_outputs
        self._residuals.fit(pred[..., 0].numpy().astype(np.float64), y_va[..., 0].numpy().astype(np.float64))
        self.validation_mape = self._residuals.mape

    def _predict(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        import torch

        x = torch.from_numpy(past.values[-self.params["context_length"] :].astype(np.float32)).reshape(1, -1, 1)
        with torch.no_grad():
            out = self._model(past_values=x).prediction_outputs
        point = out[0, :horizon, 0].numpy().astype(np.float64)
        return point, self._residuals.apply(point)

    def save_state(self, directory: Path) -> list[str]:
        import torch
        from safetensors.torch import save_file

        # float16 on disk halves the shipped size; weights are cast back to float32 on load
        state = {k: t.detach().to(torch.float16).contiguous() for k, t in self._model.state_dict().items()}
        save_file(state, str(directory / "tst.safetensors"))
        (directory / "tst_config.json").write_text(json.dumps(self._config().to_dict(), default=str))
        return ["tst.safetensors", "tst_config.json", *self._residuals.save(directory / "tst_residuals.json")]

    def load_state(self, directory: Path) -> None:
        from safetensors.torch import load_file
        from transformers import PatchTSTForPrediction

        try:
            model = PatchTSTForPrediction(self._config())
            state = {k: t.float() for k, t in load_file(str(directory / "tst.safetensors")).items()}
            model.load_state_dict(state)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelFileError(f"{directory}: cannot load the PatchTST weights: {exc}") from None
        model.eval()
        self._model = model
        self._residuals.load(directory / "tst_residuals.json")
        self._mark_fitted()
