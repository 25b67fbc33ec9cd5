"""Cell search spaces with integer architecture codes, shared by LaMOO and the tasks.

An architecture is a tuple of op ids, one per edge; its code is that tuple read as a
base-`n_ops` number (edge 0 most significant). Codes are what the optimizer, the queue and
the database pass around; `features` is the encoding LaMOO's classifiers learn on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: NAS-Bench-201 op vocabulary, in the table's op-id order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: NAS-Bench-201 edges (to_node, from_node), in the order of its arch strings.
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


@dataclass(frozen=True)
class CellSpace:
    """A cell with `n_edges` edges, each carrying one of `ops`; optionally masked to valid codes."""

    ops: tuple[str, ...] = NB201_OPS
    edges: tuple[tuple[int, int], ...] = NB201_EDGES
    valid: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def n_ops(self) -> int:
        return len(self.ops)

    @property
    def size(self) -> int:
        return self.n_ops**self.n_edges

    @property
    def n_features(self) -> int:
        return self.n_edges * self.n_ops

    def valid_codes(self) -> np.ndarray:
        if self.valid is None:
            return np.arange(self.size, dtype=np.int64)
        return np.flatnonzero(self.valid).astype(np.int64)

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` codes drawn uniformly (with replacement) from the valid architectures."""
        if self.valid is None:
            return rng.integers(0, self.size, size=n, dtype=np.int64)
        codes = self.valid_codes()
        return codes[rng.integers(0, len(codes), size=n)]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n x n_edges` op ids."""
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        if len(codes) and (codes.min() < 0 or codes.max() >= self.size):
            raise ValueError(f"architecture codes must lie in [0, {self.size}), got {codes.min()}..{codes.max()}")
        powers = self.n_ops ** np.arange(self.n_edges - 1, -1, -1, dtype=np.int64)
        return (codes[:, None] // powers[None, :]) % self.n_ops

    def encode(self, op_ids: np.ndarray) -> np.ndarray:
        """`n x n_edges` op ids -> `n` codes."""
        op_ids = np.asarray(op_ids, dtype=np.int64).reshape(-1, self.n_edges)
        if op_ids.size and (op_ids.min() < 0 or op_ids.max() >= self.n_ops):
            raise ValueError(f"op ids must lie in [0, {self.n_ops}), got {op_ids.min()}..{op_ids.max()}")
        powers = self.n_ops ** np.arange(self.n_edges - 1, -1, -1, dtype=np.int64)
        return op_ids @ powers

    def features(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n x (n_edges * n_ops)` one-hot features (the ops are categorical)."""
        op_ids = self.decode(codes)
        out = np.zeros((len(op_ids), self.n_edges * self.n_ops), dtype=np.float64)
        rows = np.repeat(np.arange(len(op_ids)), self.n_edges)
        cols = (np.arange(self.n_edges)[None, :] * self.n_ops + op_ids).reshape(-1)
        out[rows, cols] = 1.0
        return out

    def arch_str(self, code: int) -> str:
        """NAS-Bench-201 style string, e.g. `|nor_conv_3x3~0|+|...|`."""
        op_ids = self.decode(np.array([code]))[0]
        nodes: dict[int, list[str]] = {}
        for (to, frm), op in zip(self.edges, op_ids):
            nodes.setdefault(to, []).append(f"{self.ops[op]}~{frm}")
        return "+".join("|" + "|".join(nodes[n]) + "|" for n in sorted(nodes))

    def parse_arch_str(self, text: str) -> int:
        """Inverse of `arch_str`; raises ValueError naming what is wrong."""
        parts = [p for chunk in text.strip().split("+") for p in chunk.strip("|").split("|") if p]
        if len(parts) != self.n_edges:
            raise ValueError(f"architecture {text!r}: expected {self.n_edges} edges, found {len(parts)}")
        op_ids = []
        for (to, frm), part in zip(self.edges, parts):
            op, _, src = part.partition("~")
            if op not in self.ops or src != str(frm):
                raise ValueError(f"architecture {text!r}: bad edge {part!r} (expected <op>~{frm}, op in {', '.join(self.ops)})")
            op_ids.append(self.ops.index(op))
        return int(self.encode(np.array([op_ids]))[0])
