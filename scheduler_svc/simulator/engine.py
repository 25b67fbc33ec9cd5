"""The discrete-time simulator of carbon-aware NAS on a GPU pool.

Each interval (one hour) a policy splits the pool into evaluation, sampling and idle
GPUs. Within the hour, sampling GPUs screen candidates from the optimizer's selected
region with the supernet estimate, one every `sampling_cost_s` GPU-seconds, spread evenly
over the hour, into the evaluation queue. Evaluation GPUs, each an event timeline with
3600 GPU-seconds, first resume half-finished runs, then take the queue's best candidate
(or, without screening, the optimizer's next proposal); a GPU that finds nothing waits
idle for the next screened candidate. A run that does not fit is charged what it used and
carried over. Finished runs reveal their true objectives to the optimizer, which relearns
its partition at the end of the hour. Energy: busy evaluation seconds at evaluation power,
waiting evaluation seconds and idle GPUs at idle power, sampling GPUs at sampling power
for the whole hour; carbon = energy x PUE x the hour's intensity. A carbon cap stops the
run at the first moment it could be reached at the hour's allocated power; nothing after
that moment counts.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cenas.carbon.accounting import ACCOUNTING_PRESETS, JOULES_PER_KWH, PowerModel
from cenas.pareto import hypervolume
from cenas.tasks.nb201 import NB201Problem
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.forecasts import FORECAST_HOURS, Forecast, ForecastFn
from scheduler_svc.simulator.policies import AllocationPolicy
from cenas.search.proposers import Proposer, ProposerFactory, RandomProposer
from cenas.search.queue import CarryOver, EvaluationQueue, Run
from scheduler_svc.simulator.results import EpisodeResult, EvaluationRecord, HourRow

HISTORY_HOURS = 24


@dataclass(frozen=True)
class SimulationConfig:
    gpus: int = 8
    hours: int = 80
    queue_capacity: int = 10
    queue_rule: str = "streaming"  # cenas.search.queue: streaming top-k, or the paper's refill
    power: PowerModel = field(default_factory=lambda: ACCOUNTING_PRESETS["full"])
    carbon_cap_g: float | None = None
    interval_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.gpus < 1:
            raise ValueError(f"gpus must be >= 1, got {self.gpus}")
        if self.hours < 1:
            raise ValueError(f"hours must be >= 1, got {self.hours}")
        if self.carbon_cap_g is not None and self.carbon_cap_g <= 0:
            raise ValueError(f"carbon_cap_g must be > 0, got {self.carbon_cap_g}")


def with_point(front: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, bool]:
    """The non-dominated ``front`` (maximised) with ``values`` added, and whether it changed
    (a weakly dominated point cannot change the hypervolume)."""
    if len(front) and ((front >= values).all(axis=1)).any():
        return front, False
    return np.vstack([front[~(values >= front).all(axis=1)], values]), True


class Simulator:
    """One episode, stepped one interval at a time (the RL environment drives `step`)."""

    def __init__(
        self,
        problem: NB201Problem,
        intensities: np.ndarray,
        config: SimulationConfig,
        *,
        seed: int = 0,
        history: np.ndarray | None = None,
        proposer: Proposer | None = None,
        forecast: np.ndarray | ForecastFn | None = None,
    ) -> None:
        """`intensities` covers the episode's hours (at least `config.hours` values);
        `history` the hours before it (used for the trailing window policies see).
        `forecast` is either one series aligned with the episode (hour `h` sees its values
        `h+1 .. h+72`) or a function `hour -> next hours` that issues a fresh forecast
        each hour (see `forecasts.episode_forecast`)."""
        if len(intensities) < config.hours:
            raise ValueError(f"{config.hours} hours need {config.hours} intensity values, got {len(intensities)}")
        self.problem = problem
        self.config = config
        self.seed = seed
        self.intensities = np.asarray(intensities[: config.hours], dtype=np.float64)
        self.history = np.asarray(history if history is not None else [], dtype=np.float64)
        self.forecast = forecast
        self.proposer = proposer or RandomProposer(problem.space, problem.ref_point, seed)
        self.queue = EvaluationQueue(config.queue_capacity, config.queue_rule)
        self.carry = CarryOver()
        self.hour = 0
        self.done = False
        self.stopped_by_cap = False
        self._taken = np.zeros(problem.space.size, dtype=bool)  # evaluated or being trained
        self._proposals: deque[int] = deque()
        self._values: list[np.ndarray] = []
        self._front = np.zeros((0, len(problem.ref_point)))
        self._hv = 0.0
        self._hv_last_hour = 0.0
        self._carbon = 0.0
        self._energy = 0.0
        self._samples = 0
        self._sampling_residual_s = 0.0
        self._new_results = False
        self.evaluations: list[EvaluationRecord] = []
        self.progress: list[tuple[float, float, float]] = []
        self.rows: list[HourRow] = [self._row(0, Allocation(0, 0, 0), self.intensities[0])]

    # --- what a policy sees -------------------------------------------------------------
    def context(self) -> EpisodeContext:
        return EpisodeContext(
            self.config.gpus, self.config.hours, self.config.carbon_cap_g, self.problem.max_hypervolume, self.seed, self.config.power
        )

    def observe(self) -> Observation:
        past = np.concatenate([self.history, self.intensities[: self.hour + 1]])[-HISTORY_HOURS:]
        max_hv = self.problem.max_hypervolume
        forecast = forecast_std = None
        if callable(self.forecast):
            issued = self.forecast(self.hour)
            if isinstance(issued, Forecast):
                forecast, forecast_std = np.asarray(issued.mean, np.float64), np.asarray(issued.std, np.float64)
            else:
                forecast = np.asarray(issued, dtype=np.float64)
        elif self.forecast is not None:
            forecast = np.asarray(self.forecast[self.hour + 1 : self.hour + 1 + FORECAST_HOURS])
        return Observation(
            hour=self.hour,
            hours_total=self.config.hours,
            gpus=self.config.gpus,
            intensity=float(self.intensities[self.hour]),
            intensity_history=past,
            forecast=forecast,
            hypervolume_fraction=self._hv / max_hv,
            hypervolume_gain=(self._hv - self._hv_last_hour) / max_hv,
            evaluations=len(self.evaluations),
            queued=len(self.queue),
            carried=len(self.carry),
            carbon_g=self._carbon,
            energy_kwh=self._energy,
            carbon_cap_g=self.config.carbon_cap_g,
            forecast_std=forecast_std,
        )

    # --- one interval -------------------------------------------------------------------
    def step(self, allocation: Allocation, *, screening: bool = True) -> HourRow:
        if self.done:
            raise RuntimeError("the episode is over; start a new Simulator")
        if allocation.total != self.config.gpus:
            raise ValueError(f"allocation {allocation} uses {allocation.total} GPUs; the pool has {self.config.gpus}")
        cfg, power = self.config, self.config.power
        intensity = float(self.intensities[self.hour])
        length = self._interval_length(allocation, intensity)
        self._hv_last_hour = self._hv
        carbon_at_start = self._carbon

        arrivals, arrival_times = self._screen(allocation.sampling, length) if screening else (np.zeros(0, np.int64), np.zeros(0))
        busy_s, waiting_s, finished = self._evaluate(allocation.evaluation, length, arrivals, arrival_times, screening)

        energy_j = (
            busy_s * power.evaluation_w
            + waiting_s * power.idle_w
            + allocation.sampling * length * power.sampling_w
            + allocation.idle * length * power.idle_w
        )
        energy_kwh = energy_j / JOULES_PER_KWH
        hour_carbon = power.carbon_g(energy_kwh, intensity)
        self._energy += energy_kwh
        self._carbon += hour_carbon
        for when_s, hv in finished:  # carbon at each improvement, interpolated within the hour
            self.progress.append((self.hour + when_s / cfg.interval_s, hv, carbon_at_start + hour_carbon * when_s / length))

        if self._new_results:
            self.proposer.fit()
            self._new_results = False
        self.hour += 1
        row = self._row(self.hour, allocation, intensity)
        self.rows.append(row)
        if length < cfg.interval_s:
            self.stopped_by_cap = True
        self.done = self.stopped_by_cap or self.hour >= cfg.hours
        return row

    def _interval_length(self, allocation: Allocation, intensity: float) -> float:
        """Seconds of this interval that run before the carbon cap could be hit."""
        cap, full = self.config.carbon_cap_g, self.config.interval_s
        if cap is None:
            return full
        p = self.config.power
        grams_per_s = p.carbon_g(allocation.watts(p) / JOULES_PER_KWH, intensity)
        if grams_per_s <= 0:
            return full
        return float(min(full, max(cap - self._carbon, 0.0) / grams_per_s))

    def _screen(self, gpus: int, length: float) -> tuple[np.ndarray, np.ndarray]:
        """Candidates the sampling GPUs score this interval, and when each is ready."""
        cost = self.problem.sampling_cost_s
        budget = gpus * length + self._sampling_residual_s
        wanted = int(budget // cost) if gpus else 0
        if wanted == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        exclude = np.concatenate([np.flatnonzero(self._taken), self.queue.codes])
        codes = self.proposer.ask(wanted, exclude=exclude)
        self._sampling_residual_s = budget - len(codes) * cost if len(codes) == wanted else 0.0
        self._samples += len(codes)
        return codes, (np.arange(1, len(codes) + 1) * cost / gpus)

    def _evaluate(
        self, gpus: int, length: float, arrivals: np.ndarray, arrival_times: np.ndarray, screening: bool
    ) -> tuple[float, float, list[tuple[float, float]]]:
        busy = waiting = 0.0
        completed: list[tuple[float, np.ndarray]] = []  # (end, values) of every run finished this interval
        front_at_start = self._front
        interrupted: list[Run] = []
        predicted = self.problem.estimated_values(arrivals) if len(arrivals) else np.zeros((0, 2))
        admitted = 0
        timeline = [(0.0, g) for g in range(gpus)]
        while timeline:
            t, gpu = heapq.heappop(timeline)
            if t >= length:
                continue
            upto = int(np.searchsorted(arrival_times, t, side="right"))
            if upto > admitted:
                self.queue.offer(arrivals[admitted:upto], predicted[admitted:upto])
                admitted = upto
            run = self.carry.pop() or self._next_run(screening, gpus)
            if run is None:
                nxt = arrival_times[admitted] if admitted < len(arrivals) else length
                waiting += min(nxt, length) - t
                if nxt < length:
                    heapq.heappush(timeline, (float(nxt), gpu))
                continue
            end = t + run.remaining_s
            if end <= length:
                busy += run.remaining_s
                completed.append((end, self._record(run, self.hour + end / self.config.interval_s)))
                heapq.heappush(timeline, (end, gpu))
            else:
                busy += length - t
                run.remaining_s -= length - t
                interrupted.append(run)
        if admitted < len(arrivals):  # ready after the last GPU went quiet
            self.queue.offer(arrivals[admitted:], predicted[admitted:])
        for run in interrupted:
            self.carry.push(run)
        return busy, waiting, self._improvements(front_at_start, completed)

    def _improvements(self, front: np.ndarray, completed: list[tuple[float, np.ndarray]]) -> list[tuple[float, float]]:
        """(end, hypervolume after) of each run that improved the front, in the order the runs
        finished: runs are recorded as they start, so a short run started later can finish first."""
        out: list[tuple[float, float]] = []
        for end, values in sorted(completed, key=lambda c: c[0]):
            front, improved = with_point(front, values)
            if improved:
                out.append((end, hypervolume(front, self.problem.ref_point)))
        return out

    def _next_run(self, screening: bool, gpus: int) -> Run | None:
        if screening:
            code = self.queue.pop()
        else:
            if not self._proposals:
                self._proposals.extend(int(c) for c in self.proposer.ask(max(gpus, 1), exclude=np.flatnonzero(self._taken)))
            code = self._proposals.popleft() if self._proposals else None
        if code is None:
            return None
        self._taken[code] = True
        return Run(code, float(self.problem.evaluation_cost_s(np.array([code]))[0]), self.hour)

    def _record(self, run: Run, when_h: float) -> np.ndarray:
        """Store a run that finishes at ``when_h``; return its objective values."""
        values = self.problem.true_values(np.array([run.code]))[0]
        cost = float(self.problem.evaluation_cost_s(np.array([run.code]))[0])
        self.evaluations.append(EvaluationRecord(run.code, when_h, tuple(float(v) for v in values), cost))
        self.proposer.tell(np.array([run.code]), values[None, :])
        self._new_results = True
        self._front, improved = with_point(self._front, values)
        if improved:
            self._hv = hypervolume(self._front, self.problem.ref_point)
        return values

    def _row(self, hour: int, allocation: Allocation, intensity: float) -> HourRow:
        return HourRow(
            hour=hour,
            hypervolume=self._hv,
            carbon_g=self._carbon,
            energy_kwh=self._energy,
            evaluations=len(self.evaluations),
            samples=self._samples,
            gpus_evaluation=allocation.evaluation,
            gpus_sampling=allocation.sampling,
            gpus_idle=allocation.idle,
            intensity=float(intensity),
        )

    def result(self, policy_name: str) -> EpisodeResult:
        return EpisodeResult(policy_name, self.seed, list(self.rows), list(self.evaluations), list(self.progress), self.stopped_by_cap)


def run_episode(
    problem: NB201Problem,
    intensities: np.ndarray,
    policy: AllocationPolicy,
    config: SimulationConfig,
    *,
    seed: int = 0,
    history: np.ndarray | None = None,
    proposer_factory: ProposerFactory | None = None,
    forecast: np.ndarray | ForecastFn | None = None,
) -> EpisodeResult:
    """Run `policy` for a whole episode and return what it achieved."""
    proposer = (proposer_factory or RandomProposer)(problem.space, problem.ref_point, seed)
    sim = Simulator(problem, intensities, config, seed=seed, history=history, proposer=proposer, forecast=forecast)
    policy.reset(sim.context())
    while not sim.done:
        sim.step(policy.decide(sim.observe()), screening=policy.screening)
    return sim.result(policy.name)

