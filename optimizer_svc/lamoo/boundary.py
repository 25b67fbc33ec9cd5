"""The SVM that splits a node into a good and a bad side, and a fast way to apply it.

sklearn's `SVC.predict` loops over candidates and support vectors in C without BLAS (about
0.4 s per 12,000 candidates at 800 samples), and the sampler classifies the whole space.
`Boundary` keeps the fitted expansion and evaluates it itself: by subset tables
(`cell_tables`) when the space is small enough, else as one matrix product. Splitting a node
and `Region.contains` both call `Boundary.good`, so they always agree.
"""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn.svm import SVC

from optimizer_svc.lamoo.cell_tables import CellTables
from optimizer_svc.lamoo.config import Kernel
from optimizer_svc.lamoo.features import Encoder

#: fixed so that refits on the same data give the same classifier
SVC_RANDOM_STATE = 0
POLY_DEGREE = 4


class Boundary:
    """A fitted binary SVC; `good(codes)` is True where the decision value is > 0 (label 1)."""

    def __init__(self, svc: SVC, gamma: float, kernel: Kernel, encoder: Encoder) -> None:
        self.svc = svc
        self.kernel = kernel
        self.gamma = gamma
        self._encoder = encoder
        self._sv = np.ascontiguousarray(svc.support_vectors_, dtype=np.float64)  # `s x d`
        self._coef = np.ascontiguousarray(svc.dual_coef_[0], dtype=np.float64)  # `s`
        self._intercept = float(svc.intercept_[0])
        self._tables: CellTables | None = None
        if encoder.layout is not None:
            space = encoder.space
            sv_ops = self._sv.reshape(len(self._sv), space.n_edges, space.n_ops).argmax(axis=2)
            matches = np.arange(space.n_edges + 1, dtype=np.float64)
            f = self._kernel_of_matches(matches, space.n_edges)
            self._tables = CellTables(encoder.layout, sv_ops, self._coef, self._intercept, f)

    @classmethod
    def fit(cls, codes: np.ndarray, good: np.ndarray, kernel: Kernel, encoder: Encoder) -> Boundary:
        """Fit on `n` codes vs a boolean `n` mask (both classes must be present).

        gamma is sklearn's 'scale' rule, computed here so the decision can reuse it.
        """
        x = encoder.features(codes)
        y = np.asarray(good, dtype=bool).astype(np.int64)
        var = float(x.var())
        gamma = 1.0 / (x.shape[1] * var) if var != 0 else 1.0
        svc = SVC(
            kernel=kernel, degree=POLY_DEGREE, gamma=gamma, coef0=0.0, random_state=SVC_RANDOM_STATE
        )
        # Our inputs are built here, finite and well-typed: skip sklearn's per-call checks
        # (a third of the fit time on small nodes).
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            svc.fit(x, y)
        return cls(svc, gamma, kernel, encoder)

    def _kernel_of_matches(self, matches: np.ndarray, n_edges: int) -> np.ndarray:
        """Kernel value between two one-hot cells that agree on `matches` edges."""
        if self.kernel == "rbf":
            return np.exp(-self.gamma * 2.0 * (n_edges - matches))
        return (self.gamma * matches) ** POLY_DEGREE

    def decision(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n` decision values (equal to `SVC.decision_function` on their features)."""
        if self._tables is not None:
            return self._tables.decision(self._encoder.subset_index(codes))
        x = self._encoder.features(codes)
        if len(x) == 0:
            return np.zeros(0)
        matches = x @ self._sv.T  # `n x s`, exact integers for one-hot rows
        k = self._kernel_of_matches(matches, self._encoder.space.n_edges)
        # row-wise sum: a row's value does not depend on how many rows are in the batch
        return np.asarray((k * self._coef[None, :]).sum(axis=1) + self._intercept)

    def good(self, codes: np.ndarray) -> np.ndarray:
        """Boolean `n` mask of the codes classified on the good side."""
        return self.decision(codes) > 0.0
