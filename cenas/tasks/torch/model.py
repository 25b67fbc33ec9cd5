"""The NAS-Bench-201 cell and the network that stacks it, in PyTorch.

Encoding: architectures are `cenas.tasks.space.CellSpace` codes (0..15624), the same
integers LaMOO and the `nb201` task use; `CellSpace.decode` gives the op id per edge in
`NB201_EDGES` order ((1,0), (2,0), (2,1), (3,0), (3,1), (3,2)) and ops in `NB201_OPS` order
(none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3).

Network (NAS-Bench-201's macro skeleton): 3x3 conv stem (C channels) + BN, then three
stages of `depth` cells separated by residual reduction blocks (stride 2, channels x2),
then BN-ReLU, global average pooling and a linear classifier. `width=16, depth=5` is the
NAS-Bench-201 network itself. Cell node j is the sum of its incoming edges; node 3 is the
cell output. `nor_conv_kxk` is ReLU-Conv-BN as in NAS-Bench-201, `avg_pool_3x3` has stride
1 and padding 1, `none` outputs zeros (a cell of only `none` edges outputs zeros; the
reduction blocks still carry the signal).

One class builds both a stand-alone network (one op per edge, `op_ids` fixed) and the
weight-sharing supernet (all five ops on every edge; `forward(x, op_ids)` picks one path,
shared by every cell, as NAS-Bench-201 cells are). The supernet's BN layers use batch
statistics (`track_running_stats=False`), because the statistics of one path are wrong
for another.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cenas.tasks.space import NB201_EDGES, NB201_OPS, CellSpace
from cenas.tasks.torch.space import NetworkShape

N_NODES = 4


def _bn(channels: int, shared: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=True, track_running_stats=not shared)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, shared: bool) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), _bn(c_out, shared))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, shared: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, shared)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, shared)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown op {name!r}")


class Cell(nn.Module):
    """Edges hold a dict op-id -> module: one entry in a network, all five in a supernet."""

    def __init__(self, channels: int, choices: Sequence[Sequence[int]], shared: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({str(op): make_op(NB201_OPS[op], channels, shared) for op in ops}) for ops in choices
        )

    def forward(self, x: torch.Tensor, op_ids: Sequence[int]) -> torch.Tensor:
        nodes = [x]
        for j in range(1, N_NODES):
            total = None
            for e, (to, frm) in enumerate(NB201_EDGES):
                if to == j:
                    out = self.edges[e][str(op_ids[e])](nodes[frm])
                    total = out if total is None else total + out
            nodes.append(total)
        return nodes[-1]


class ResBlock(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-Conv-BN (stride 2, then 1) + avgpool-1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, shared: bool) -> None:
        super().__init__()
        self.a = ReLUConvBN(c_in, c_out, 3, 2, shared)
        self.b = ReLUConvBN(c_out, c_out, 3, 1, shared)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.shortcut(x)


class CellNetwork(nn.Module):
    """A stacked-cell network for `code`, or the weight-sharing supernet when `code` is None."""

    def __init__(self, code: int | None, shape: NetworkShape, in_channels: int, n_classes: int) -> None:
        super().__init__()
        space = CellSpace()
        self.shared = code is None
        self.op_ids: tuple[int, ...] | None = None if code is None else tuple(int(o) for o in space.decode([code])[0])
        choices = [tuple(range(space.n_ops))] * space.n_edges if code is None else [(op,) for op in self.op_ids]
        c = shape.width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), _bn(c, self.shared))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage:
                layers.append(ResBlock(c, 2 * c, self.shared))
                c *= 2
            layers.extend(Cell(c, choices, self.shared) for _ in range(shape.depth))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(_bn(c, self.shared), nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))

    def forward(self, x: torch.Tensor, op_ids: Sequence[int] | None = None) -> torch.Tensor:
        path = op_ids if op_ids is not None else self.op_ids
        if path is None:
            raise ValueError("the supernet needs op_ids (one op per edge) to pick a path")
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, path) if isinstance(layer, Cell) else layer(x)
        return self.head(x)


def build_network(code: int, shape: NetworkShape, in_channels: int, n_classes: int) -> CellNetwork:
    return CellNetwork(int(code), shape, in_channels, n_classes)


def build_supernet(shape: NetworkShape, in_channels: int, n_classes: int) -> CellNetwork:
    return CellNetwork(None, shape, in_channels, n_classes)
