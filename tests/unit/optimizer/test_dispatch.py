import numpy as np
import pytest

from cenas.search.proposers import RandomProposer
from optimizer_svc.dispatch import Dispatcher, EvaluateCommand, SampleCommand


def make(nb201, screening=True, **kw):
    return Dispatcher(RandomProposer(nb201.space, nb201.ref_point, 0), nb201.space.size, screening=screening, **kw)


def test_vanilla_dispatches_one_evaluation_per_gpu_and_no_samples(nb201):
    d = make(nb201, screening=False)
    d.set_allocation(3, 5)
    commands = d.plan()
    assert len(commands) == 6 and all(isinstance(c, EvaluateCommand) for c in commands)
    assert d.plan() == []  # nothing more until a GPU frees up
    first = commands[0].code
    assert d.on_evaluation(first, nb201.true_values(np.array([first]))[0])
    assert not d.on_evaluation(first, nb201.true_values(np.array([first]))[0])  # redelivered: ignored
    again = d.plan()
    assert len(again) == 1 and again[0].code not in {c.code for c in commands}


def test_screening_feeds_evaluations_from_sample_results_lowest_dominance_first(nb201):
    d = make(nb201, sample_batch=5)
    d.set_allocation(1, 2)
    commands = d.plan()
    samples = [c for c in commands if isinstance(c, SampleCommand)]
    assert len(samples) == 2 and not [c for c in commands if isinstance(c, EvaluateCommand)]
    batch = samples[0]
    predicted = nb201.estimated_values(np.array(batch.codes))
    assert d.on_samples(batch.batch_id, np.array(batch.codes), predicted)
    assert not d.on_samples(batch.batch_id, np.array(batch.codes), predicted)  # duplicate
    nxt = d.plan()
    evaluate = [c for c in nxt if isinstance(c, EvaluateCommand)]
    sample = [c for c in nxt if isinstance(c, SampleCommand)]
    assert len(evaluate) == 2 and len(sample) == 1  # 1 GPU: one running, one reserved; sample slot refilled
    from cenas.pareto import dominance_numbers

    best = np.array(batch.codes)[dominance_numbers(predicted) == 0]
    assert evaluate[0].code in best.tolist()
    # no code is ever sampled twice while pending or queued
    pending = [c for b in d.sampling.values() for c in b]
    assert len(pending) == len(set(pending)) and not set(pending) & set(d.queue.codes.tolist())


def test_restore_rebuilds_state(nb201):
    d = make(nb201, screening=False)
    d.restore([(5, nb201.true_values(np.array([5]))[0])], evaluating=[7, 5])
    assert d.evaluated == {5} and d.evaluating == {7}
    d.set_allocation(2, 0)
    codes = [c.code for c in d.plan()]
    assert len(codes) == 3 and 5 not in codes and 7 not in codes  # 4 slots, 7 still in flight


def test_negative_allocation_refused(nb201):
    with pytest.raises(ValueError, match="GPU counts must be >= 0"):
        make(nb201).set_allocation(-1, 0)


def test_withdrawn_commands_free_their_slots_and_can_be_planned_again(nb201):
    d = make(nb201, sample_batch=5)
    d.set_allocation(0, 2)
    first = d.plan()
    assert len(first) == 2 and d.plan() == []  # both sampling slots taken
    d.withdraw(first[1])  # the broker refused the second one
    again = d.plan()
    assert len(again) == 1 and isinstance(again[0], SampleCommand)
    vanilla = make(nb201, screening=False)
    vanilla.set_allocation(1, 0)
    sent, unsent = vanilla.plan()
    vanilla.withdraw(unsent)
    assert vanilla.evaluating == {sent.code}
    assert len(vanilla.plan()) == 1
