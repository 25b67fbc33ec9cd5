"""The torch task's networks: the shared encoding, shapes, exact params, FLOPs, supernet paths."""

import numpy as np
import pytest
import torch

from cenas.errors import InvalidProblemError
from cenas.tasks.space import CellSpace
from cenas.tasks.torch import NetworkShape, TorchProblem, parse_space
from cenas.tasks.torch.measure import count_flops, count_params, measure_latency_ms
from cenas.tasks.torch.model import Cell, build_network, build_supernet
from cenas.tasks.torch.problem import ALL_CONV3

SPACE = CellSpace()
TINY = NetworkShape(width=4, depth=1)
CODES = [0, 1, 781, 6000, 9876, ALL_CONV3, SPACE.size - 1]

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_encoding_is_the_cell_space_one():
    assert ALL_CONV3 == SPACE.parse_arch_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    code = SPACE.parse_arch_str("|skip_connect~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|")
    net = build_network(code, TINY, 1, 10)
    assert net.op_ids == (1, 2, 0, 4, 3, 1)
    cell = next(m for m in net.modules() if isinstance(m, Cell))
    assert [list(edge.keys()) for edge in cell.edges] == [["1"], ["2"], ["0"], ["4"], ["3"], ["1"]]


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_networks_build_and_classify(shape):
    for code in CODES:
        net = build_network(code, TINY, shape[0], 10)
        out = net(torch.randn(5, *shape))
        assert out.shape == (5, 10) and torch.isfinite(out).all()


def test_params_are_exact_and_flops_grow_with_width():
    for code in CODES:
        net = build_network(code, TINY, 1, 10)
        assert count_params(net) == sum(p.numel() for p in net.parameters())
    flops = [count_flops(build_network(ALL_CONV3, NetworkShape(w, 1), 1, 10), (1, 8, 8)) for w in (4, 8, 16)]
    assert 0 < flops[0] < flops[1] < flops[2]
    deeper = count_flops(build_network(ALL_CONV3, NetworkShape(4, 2), 1, 10), (1, 8, 8))
    assert deeper > flops[0]
    # NAS-Bench-201's own network: 1.53 M parameters for the all-3x3 cell on CIFAR-10
    assert count_params(build_network(ALL_CONV3, parse_space("nb201-cell"), 3, 10)) == 1_531_546


def test_a_cell_of_none_edges_outputs_zeros_and_still_trains():
    net = build_network(0, TINY, 1, 10)
    cell = next(m for m in net.modules() if isinstance(m, Cell))
    assert torch.count_nonzero(cell(torch.randn(2, 4, 8, 8), net.op_ids)) == 0
    loss = net(torch.randn(4, 1, 8, 8)).sum()
    loss.backward()  # the reduction blocks and the head still have gradients
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    assert count_flops(net, (1, 8, 8)) > 0 and measure_latency_ms(net, (1, 8, 8), repeats=2, warmup=1) > 0


def test_the_supernet_runs_any_single_path():
    supernet = build_supernet(TINY, 1, 10)
    x = torch.randn(3, 1, 8, 8)
    outs = {}
    for code in [*CODES, *np.random.default_rng(0).integers(0, SPACE.size, 5).tolist()]:
        ops = SPACE.decode([code])[0].tolist()
        outs[code] = supernet(x, ops)
        assert outs[code].shape == (3, 10)
    assert not torch.equal(outs[1], outs[ALL_CONV3])
    with pytest.raises(ValueError, match="op_ids"):
        supernet(x)
    # every candidate op of every edge has its own weights
    assert count_params(supernet) > count_params(build_network(ALL_CONV3, TINY, 1, 10))


def test_space_names():
    assert parse_space("nb201-cell") == NetworkShape(16, 5)
    assert parse_space("nb201-cell-w8-d2") == NetworkShape(8, 2)
    for bad in ("resnet", "nb201-cell-w8", "nb201-cell-w0-d1"):
        with pytest.raises(InvalidProblemError):
            parse_space(bad)


def test_the_problem_offers_what_the_optimizer_uses():
    problem = TorchProblem("digits", "nb201-cell-w4-d1", ("accuracy", "flops"), epochs=2)
    assert [(o.name, o.goal) for o in problem.objectives] == [("accuracy", "max"), ("flops", "min")]
    largest = count_flops(build_network(ALL_CONV3, TINY, 1, 10), (1, 8, 8))
    assert problem.ref_point[0] == 0 and -problem.ref_point[1] >= largest
    assert problem.max_hypervolume > 0 and problem.space.size == 15625
    assert problem.maximised({"accuracy": 90.0, "flops": 10.0, "params": 3.0}) == [90.0, -10.0]
    assert problem.evaluation_cost_s(np.array([1, 2])).shape == (2,)
    latency = TorchProblem("digits", "nb201-cell-w4-d1", ("accuracy", "latency_ms"), epochs=2)
    assert latency.ref_point[1] < 0
