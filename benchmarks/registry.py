"""Suites register themselves here by name; the command line looks them up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .checkpoints import Checkpoints


@dataclass
class Record:
    """One measured figure. ``params`` holds the case's knobs (sizes, mode) for tables and plots."""

    suite: str
    case: str
    impl: str
    metric: str
    value: float | None
    unit: str
    std: float | None = None
    n: int | None = None
    params: dict = field(default_factory=dict)
    note: str = ""


@dataclass
class Context:
    """What a suite is asked to do: a quick or a full run, on a device, with progress shown or not, and where the
    finished units of long cases are kept so that an interrupted run resumes."""

    quick: bool
    device: torch.device
    progress: bool = True
    only: str = ""
    repeats: int | None = None  # seeds / splits per case where the suite honours it (None: its protocol's)
    full: bool = False  # the whole published protocol where the default is a shorter run
    budget_s: float | None = None  # wall-clock training budget per model where a suite trains by time
    summary: str = ""  # a line or two the suite wants above its table (set by the suite)
    checkpoints: Checkpoints = field(default_factory=Checkpoints)  # finished units of long cases (--resume)

    def wanted(self, case: str) -> bool:
        """Whether ``case`` contains ``only``, or one of its ``|``-separated alternatives; an alternative that ends in
        ``$`` must end the case (``node Cora GCN$`` leaves out ``node Cora GCNII``)."""
        return any(case.endswith(part[:-1]) if part.endswith("$") else part in case
                   for part in (alternative.strip() for alternative in self.only.split("|")))

    def repeat_count(self, protocol: int, unit: str) -> int:
        """How many ``unit`` (seeds, splits, folds) a case runs: ``repeats`` if given, else 1 for a quick run, else
        the ``protocol``'s number. Asking for more than the protocol has is an error, not a silent cut."""
        if self.repeats is not None and self.repeats > protocol:
            raise ValueError(f"--repeats: expected at most {protocol} (the protocol's {unit}), got {self.repeats}")
        return self.repeats or (1 if self.quick else protocol)


@dataclass
class Suite:
    name: str
    description: str
    run: Callable[[Context], list[Record]]
    plot: Callable[[list[Record], "object"], None] | None = None


SUITES: dict[str, Suite] = {}


def register(name: str, description: str, plot: Callable | None = None):
    """Decorator: ``@register("kernels", "...")`` on ``run(ctx) -> list[Record]``."""

    def wrap(run: Callable[[Context], list[Record]]):
        if name in SUITES:
            raise ValueError(f"name: a suite called {name!r} is already registered")
        SUITES[name] = Suite(name, description, run, plot)
        return run

    return wrap
