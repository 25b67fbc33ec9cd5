"""The SearchSpec: what a user asks for (API.md), validated so that errors name the field.

Unknown fields, wrong types and impossible values are refused here, once, for the gateway,
`cenas submit` and the services alike.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cenas.carbon.traces import BUNDLED_REGIONS, as_utc, load_region
from cenas.errors import TraceRangeError
from cenas.errors import InvalidProblemError
from cenas.tasks.nb201 import DATASETS, HW_METRICS
from cenas.tasks.torch.space import DATASETS as TORCH_DATASETS
from cenas.tasks.torch.space import DEFAULT_EPOCHS, DEFAULT_SPACES, GOALS, parse_space

NB201_OBJECTIVES = {"accuracy", *HW_METRICS}
TORCH_OBJECTIVES = set(GOALS)


#: NUL and the other C0 controls (and DEL): never meaningful in a spec, and PostgreSQL
#: refuses NUL in text, so they are a 422 here rather than a database error later
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise ValueError("control characters (NUL, newline, ...) are not allowed")
        return value


class ObjectiveSpec(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    goal: Literal["max", "min"]


class TaskSpec(Strict):
    """Defaults depend on the kind: nb201 -> cifar10, accuracy / edgegpu_energy; torch ->
    digits, accuracy / params, the dataset's default space and epochs (cenas.tasks.torch)."""

    kind: Literal["nb201", "torch"]
    dataset: Annotated[str, Field(min_length=1, max_length=64)] = "cifar10"
    objectives: Annotated[list[ObjectiveSpec], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [ObjectiveSpec(name="accuracy", goal="max"), ObjectiveSpec(name="edgegpu_energy", goal="min")]
    )
    space: str | None = None
    epochs: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _torch_defaults(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("kind") == "torch":
            data = dict(data)
            data.setdefault("dataset", "digits")
            data.setdefault("objectives", [{"name": "accuracy", "goal": "max"}, {"name": "params", "goal": "min"}])
            if data["dataset"] in TORCH_DATASETS:
                if data.get("space") is None:
                    data["space"] = DEFAULT_SPACES[data["dataset"]]
                if data.get("epochs") is None:
                    data["epochs"] = DEFAULT_EPOCHS[data["dataset"]]
        return data

    @model_validator(mode="after")
    def _known_objectives(self) -> TaskSpec:
        allowed = NB201_OBJECTIVES if self.kind == "nb201" else TORCH_OBJECTIVES
        names = [o.name for o in self.objectives]
        for name in names:
            if name not in allowed:
                raise ValueError(f"objective {name!r} is not available for task kind {self.kind!r}; choose from {', '.join(sorted(allowed))}")
        if len(set(names)) != len(names):
            raise ValueError("objective names must be distinct")
        if self.kind == "nb201":
            if self.dataset not in DATASETS:
                raise ValueError(f"dataset {self.dataset!r} is not in NAS-Bench-201; choose from {', '.join(DATASETS)}")
            if names[0] != "accuracy" or self.objectives[0].goal != "max" or self.objectives[1].goal != "min":
                raise ValueError("nb201 searches maximise accuracy (first) and minimise one hardware metric (second)")
        if self.kind == "torch":
            if self.dataset not in TORCH_DATASETS:
                raise ValueError(f"task.dataset {self.dataset!r} is not a torch dataset; choose from {', '.join(TORCH_DATASETS)}")
            for o in self.objectives:
                if o.goal != GOALS[o.name]:
                    raise ValueError(f"task.objectives: torch objective {o.name!r} must have goal {GOALS[o.name]!r}")
            try:
                parse_space(self.space or "")
            except InvalidProblemError as exc:
                raise ValueError(f"task.space: {exc}") from None
        return self


class BudgetSpec(Strict):
    hours: Annotated[float, Field(gt=0, le=24 * 365)] | None = None
    carbon_g: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> BudgetSpec:
        if self.hours is None and self.carbon_g is None:
            raise ValueError("set at least one of budget.hours and budget.carbon_g")
        return self


class TracePoint(Strict):
    timestamp: datetime
    carbon_intensity: Annotated[float, Field(ge=0)]


class CarbonSpec(Strict):
    """Replay (`signal: replay`) runs a trace on an accelerated clock; a live signal
    (`electricitymaps`, `watttime`) runs on the wall clock against the provider's zone
    `region`, deciding every `interval_s` seconds (unset: the deployment's
    `CENAS_LIVE_INTERVAL_S`, filled in when the search is accepted)."""

    region: Annotated[str, Field(min_length=1, max_length=64)] = "US-CAL-CISO"
    signal: Literal["replay", "electricitymaps", "watttime"] = "replay"
    start: datetime | None = None
    seconds_per_hour: Annotated[float, Field(gt=0, le=3600)] = 3600.0
    trace: Annotated[list[TracePoint], Field(max_length=24 * 366 * 3)] | None = None
    interval_s: Annotated[float, Field(ge=1, le=24 * 3600)] | None = None
    forecast: Literal["model", "provider"] = "model"

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    @model_validator(mode="after")
    def _live_runs_now(self) -> CarbonSpec:
        if self.signal == "replay":
            if self.interval_s is not None or self.forecast != "model":
                raise ValueError("carbon.interval_s and carbon.forecast apply to live signals (electricitymaps, watttime), not to replay")
            return self
        if self.start is not None or self.trace is not None or self.seconds_per_hour != 3600:
            raise ValueError("carbon.start, carbon.trace and carbon.seconds_per_hour apply to replay only: "
                             "a live search runs on the wall clock, from now")
        return self

    @model_validator(mode="after")
    def _replay_needs_a_trace(self) -> CarbonSpec:
        if self.signal != "replay" or self.trace is not None:
            return self
        if self.region not in BUNDLED_REGIONS:
            raise ValueError(f"region {self.region!r} has no bundled trace; choose from {', '.join(BUNDLED_REGIONS)} or upload carbon.trace")
        if self.start is not None:
            try:
                load_region(self.region).index_of(self.start)
            except TraceRangeError as exc:
                raise ValueError(f"start {exc}") from None
        return self


class OptimizerSpec(Strict):
    sampler: Literal["random", "qnehvi"] = "random"
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class SearchSpec(Strict):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    task: TaskSpec
    gpus: Annotated[int, Field(ge=1, le=4096)]
    budget: BudgetSpec
    carbon: CarbonSpec = Field(default_factory=CarbonSpec)
    policy: Annotated[str, Field(min_length=1, max_length=64)] = "heuristic"
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    accounting: Literal["full", "paper"] = "full"

    @field_validator("policy")
    @classmethod
    def _policy_name(cls, value: str) -> str:
        known = {"vanilla", "oneshot", "heuristic", "rl", "mpc", "oracle"}
        if value in known or (value.startswith("static:") and value[7:].isdigit()):
            return value
        raise ValueError(f"unknown policy {value!r}; choose from {', '.join(sorted(known))} or static:K")

    @model_validator(mode="after")
    def _static_fits_pool(self) -> SearchSpec:
        if self.policy.startswith("static:") and int(self.policy[7:]) > self.gpus:
            raise ValueError(f"policy {self.policy} needs more evaluation GPUs than gpus={self.gpus}")
        return self
