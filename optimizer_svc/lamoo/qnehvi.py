"""Bayesian proposal inside a region: a GP on one-hot features and qLogNEHVI over region samples.

We use `qLogNoisyExpectedHypervolumeImprovement`, not the plain qNEHVI: it ranks candidates
by the log of a smoothed improvement, so candidates whose improvement underflows to zero
under qNEHVI (most of them once the front is good) still get an order instead of a tie
broken by position; botorch recommends it over qNEHVI for that reason (Ament et al., 2023).

As in the LaMOO reference code, the GP is fitted on all told samples, not only the region's:
the region restricts where we propose, the model uses every observation.

Costs on 2 shared CPU cores made three shortcuts necessary (each documented where set):
the GP's L-BFGS stops after `GP_MAXITER` iterations (full convergence took 10-20x longer
for a ~4 % better marginal likelihood); the noisy baseline is the `MAX_BASELINE` told points
with the lowest dominance numbers (then pruned by botorch as usual; the deeply dominated
rest almost never changes the front); and the sequential greedy selection runs over the
`GREEDY_POOL` candidates with the best single-point acquisition value, not over all of
them (one greedy step over 1,000 candidates cost ~3 s).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.exceptions.warnings import OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.optim.optimize import optimize_acqf_discrete
from botorch.sampling.normal import SobolQMCNormalSampler
from gpytorch.mlls import ExactMarginalLogLikelihood

from cenas.pareto import dominance_numbers

MC_SAMPLES = 64
GP_MAXITER = 100
MAX_BASELINE = 64
#: greedy (conditioned on earlier picks) selection runs over this many pre-screened candidates
GREEDY_POOL = 64
#: picks beyond this many are taken by single-point acquisition value, without conditioning
MAX_GREEDY = 16
EVAL_BATCH = 512


def propose_qnehvi(
    train_x: np.ndarray,
    train_y: np.ndarray,
    candidates_x: np.ndarray,
    q: int,
    ref_point: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Indices of `min(q, c)` distinct rows of `candidates_x` (`c x d`), best first.

    `train_x` is `n x d`, `train_y` `n x m` maximised values, `ref_point` `m`.
    Deterministic for a given `seed`; the global torch RNG is left untouched.
    """
    q = min(q, len(candidates_x))
    if q <= 0:
        return np.zeros(0, dtype=np.int64)
    # gpytorch builds sparse interpolation matrices; torch >= 2.13 warns unless the caller
    # chooses whether to check sparse invariants. We keep torch's default (no checks),
    # explicitly and only for this call.
    with (
        torch.random.fork_rng(),
        warnings.catch_warnings(),
        torch.sparse.check_sparse_tensor_invariants(enable=False),  # type: ignore[no-untyped-call]
    ):
        # An L-BFGS stop at GP_MAXITER is intended (see the module docstring), not a failure.
        warnings.simplefilter("ignore", OptimizationWarning)
        torch.manual_seed(seed)
        x = torch.as_tensor(train_x, dtype=torch.float64)
        y = torch.as_tensor(train_y, dtype=torch.float64)
        model = SingleTaskGP(x, y, outcome_transform=Standardize(m=y.shape[-1]))
        fit_gpytorch_mll(
            ExactMarginalLogLikelihood(model.likelihood, model),
            optimizer_kwargs={"options": {"maxiter": GP_MAXITER}},
        )
        best = np.argsort(dominance_numbers(train_y), kind="stable")[:MAX_BASELINE]
        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=np.asarray(ref_point, dtype=np.float64).tolist(),
            X_baseline=x[torch.as_tensor(best)],
            prune_baseline=True,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed),
        )
        choices = torch.as_tensor(candidates_x, dtype=torch.float64)
        with torch.no_grad():
            batches = [choices[i : i + EVAL_BATCH] for i in range(0, len(choices), EVAL_BATCH)]
            single = torch.cat([acqf(batch.unsqueeze(-2)) for batch in batches]).numpy()
        by_value = np.argsort(-single, kind="stable")
        n_greedy = min(q, MAX_GREEDY)
        pool = by_value[: max(GREEDY_POOL, n_greedy)]
        if n_greedy > 1:
            picked, _ = optimize_acqf_discrete(
                acqf, q=n_greedy, choices=choices[pool], unique=True, return_acq_values=False
            )
            chosen = pool[_row_indices(choices[pool], picked)]
        else:
            chosen = pool[:1]
        rest = by_value[~np.isin(by_value, chosen)][: q - n_greedy]
        return np.concatenate([chosen, rest]).astype(np.int64)


def _row_indices(choices: torch.Tensor, picked: torch.Tensor) -> np.ndarray:
    """Where each picked row sits in `choices` (rows are distinct)."""
    match = (choices[None, :, :] == picked[:, None, :]).all(dim=-1)  # `q x c`
    return match.to(torch.int64).argmax(dim=1).numpy().astype(np.int64)
