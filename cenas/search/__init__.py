"""Search mechanics shared by the simulator and the live optimizer: the evaluation queue and
the ask/tell proposer protocol (with random search as its simplest implementation)."""

from cenas.search.proposers import Proposer, ProposerFactory, RandomProposer
from cenas.search.queue import CarryOver, EvaluationQueue, Run

__all__ = ["CarryOver", "EvaluationQueue", "Proposer", "ProposerFactory", "RandomProposer", "Run"]
