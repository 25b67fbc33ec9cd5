import numpy as np
import pytest

from cenas.search.queue import CarryOver, EvaluationQueue, Run


def test_pops_lowest_dominance_number_first_ties_by_arrival():
    queue = EvaluationQueue(capacity=10)
    queue.offer(np.array([1, 2, 3, 4]), np.array([[1.0, 1.0], [3.0, 1.0], [1.0, 3.0], [2.0, 2.0]]))
    # 2, 3, 4 are all non-dominated (0); 1 is dominated by all three
    assert [queue.pop() for _ in range(4)] == [2, 3, 4, 1]
    assert queue.pop() is None


def test_capacity_keeps_the_best_and_drops_newest_among_ties():
    queue = EvaluationQueue(capacity=2)
    queue.offer(np.array([10, 11]), np.array([[1.0, 1.0], [0.5, 0.5]]))
    queue.offer(np.array([12]), np.array([[2.0, 2.0]]))  # dominates both: 11 (dominated twice) goes
    assert sorted(queue.codes.tolist()) == [10, 12]
    queue.offer(np.array([13]), np.array([[2.0, 2.0]]))  # ties with 12 at 0; 10 now dominated twice
    assert sorted(queue.codes.tolist()) == [12, 13]
    queue.offer(np.array([14]), np.array([[2.0, 2.0]]))  # three-way tie at 0: the newest is dropped
    assert sorted(queue.codes.tolist()) == [12, 13]
    assert len(queue) == 2


def test_large_batches_stream_in_arrival_order():
    rng = np.random.default_rng(0)
    queue = EvaluationQueue(capacity=10)
    values = rng.random((500, 2))
    queue.offer(np.arange(500), values)
    assert len(queue) == 10
    # the global Pareto front of the batch always survives a streaming top-10 when it is small
    from cenas.pareto import non_dominated_mask

    front = set(np.flatnonzero(non_dominated_mask(values)).tolist())
    assert len(front) <= 10 and front <= set(queue.codes.tolist())


def test_capacity_validation():
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        EvaluationQueue(0)


def test_carry_over_is_fifo():
    carry = CarryOver()
    carry.push(Run(1, 10.0, 0))
    carry.push(Run(2, 20.0, 0))
    assert carry.codes() == [1, 2]
    assert carry.pop().code == 1 and carry.pop().code == 2 and carry.pop() is None


def test_the_refill_rule_admits_only_while_there_is_room():
    streaming, refill = EvaluationQueue(capacity=2), EvaluationQueue(capacity=2, rule="refill")
    worse, better = np.array([[0.1, 0.1], [0.2, 0.2]]), np.array([[0.9, 0.9], [0.8, 0.8]])
    for queue in (streaming, refill):
        queue.offer(np.array([1, 2]), worse)
        queue.offer(np.array([3, 4]), better)
    assert sorted(streaming.codes.tolist()) == [3, 4]  # better candidates displace worse ones
    assert sorted(refill.codes.tolist()) == [1, 2]  # full: later ones are discarded, however good
    assert refill.pop() == 2 and len(refill) == 1
    refill.offer(np.array([5, 6]), better)
    assert sorted(refill.codes.tolist()) == [1, 5]  # room for one again: the first arrival
    with pytest.raises(ValueError, match="queue rule"):
        EvaluationQueue(2, rule="best")
