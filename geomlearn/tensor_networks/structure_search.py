r"""Tensor-network structure search: which bond ranks (and so which topology) represent a tensor compactly.

Both searches work on the adjacency-matrix encoding (:class:`NetworkStructure`) and minimise the objective of
Li et al.'s protocol,

.. math::
    f(A) = \mathrm{CR}(A) + \lambda\, \mathrm{RSE}(A), \qquad \lambda = 200,

with :math:`\mathrm{CR}` the parameter count over the tensor's entries and :math:`\mathrm{RSE}` the relative
squared error of the structure fitted by :func:`fit_network` (Adam, lr :math:`10^{-3}`, at most 10,000 steps, two
starts, stop at RSE :math:`< 10^{-8}`). One *evaluation* is one such fit; both searches cache them, so a structure
is never fitted twice, and both warm-start a candidate's first start from the fit it neighbours.

* :func:`greedy_search` (Hashemizadeh et al., 2020): from rank one on every pair, try incrementing each bond by one
  (each candidate fitted briefly from the current cores, the weight transfer of the paper), keep the best, fit it
  to convergence, repeat while the objective falls. Then (our addition) shrink: fit every bond one rank lower from
  the SVD-truncated cores (for the protocol's whole step budget) and keep the best while the objective falls,
  which undoes increments that a later one made redundant; when no bond can lose a rank, try moving one rank from
  a bond to another wherever that lowers the parameter count (fitted with the plateau stop: there are
  :math:`O(N^4)` of them), and every hand-over that does: a core passes its other bonds to a neighbour and hangs
  from it as a leaf over a bond of the same rank or one less (:meth:`NetworkTensor.handed_over`, started from the
  contract-and-split of the two cores, exact when the bond's rank suffices). Increments can close a loop the
  planted network does not have (a chain ``1-2-3`` grown as ``1-2``, ``1-3`` and a thin ``2-3``); a move thickens
  ``2-3`` and thins ``1-3`` while the fit stays exact, after which the plain decrements open the loop again.
  Increments can also centre a star on the wrong core (a Tucker tensor folded into a factor other than its
  largest); a hand-over re-centres it, the bond to the old centre now carrying that core's own mode only.
* :func:`tnale` (Li et al., ICML 2023): alternating local enumeration. Sweep over the variables; for each,
  evaluate every value within ``radius`` of the current one with the others fixed and move to the best; a sweep
  without progress shrinks the radius, and one at radius 1 ends the search. :math:`O(N^2 R)` evaluations for an
  order-:math:`N` tensor, against the :math:`\Omega(2^N)` of sampling-based searches. The variables are every
  pair's rank (``topology="all"``), or, as in the paper's search under the ring constraint (``"ring"``), the
  ranks of a ring's :math:`N` bonds and the order of the modes around it, whose neighbours swap two modes.

Both return a :class:`StructureSearch`: the best fit, its structure, objective, RSE and compression ratio, the
number of evaluations, and every evaluation in order (``plot()`` draws the objective against evaluations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..argument_checks import check_int, is_int
from ._checks import check_tensor, generator_for
from .network_fit import NetworkTensor, fit_network
from .network_structure import NetworkStructure

DEFAULT_WEIGHT = 200.0
SEARCH_PATIENCE = 500


@dataclass
class Evaluation:
    """One fitted candidate."""

    structure: NetworkStructure
    fit: NetworkTensor
    objective: float

    @property
    def rse(self) -> float:
        return self.fit.rse

    @property
    def compression_ratio(self) -> float:
        return self.structure.compression_ratio


@dataclass
class StructureSearch:
    """What a search returns: ``best`` (the :class:`~geomlearn.tensor_networks.structure_search.Evaluation` of least objective) and ``history`` (every
    evaluation, in the order made)."""

    best: Evaluation
    history: list[Evaluation] = field(default_factory=list)

    @property
    def structure(self) -> NetworkStructure:
        return self.best.structure

    @property
    def fit(self) -> NetworkTensor:
        return self.best.fit

    @property
    def objective(self) -> float:
        return self.best.objective

    @property
    def rse(self) -> float:
        return self.best.rse

    @property
    def compression_ratio(self) -> float:
        return self.best.compression_ratio

    @property
    def evaluations(self) -> int:
        return len(self.history)

    def plot(self, ax=None):
        """Each evaluation's objective and the best so far, against evaluations (matplotlib); returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3.5))[1]
        objectives = [e.objective for e in self.history]
        ax.semilogy(range(1, len(objectives) + 1), objectives, ".", alpha=0.5, label="evaluation")
        running = [min(objectives[:k + 1]) for k in range(len(objectives))]
        ax.semilogy(range(1, len(objectives) + 1), running, label="best so far")
        ax.set(xlabel="evaluations", ylabel="CR + λ RSE", title=f"structure search: {self.structure}")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return (f"StructureSearch({self.structure}, objective={self.objective:.4g}, rse={self.rse:.3g}, "
                f"compression_ratio={self.compression_ratio:.4g}, evaluations={self.evaluations})")


class _Evaluator:
    """Fits structures once each, warm-started from a neighbour, and keeps the history."""

    def __init__(self, tensor: Tensor, mask: Optional[Tensor], weight: float, fit_options: dict, generator,
                 progress):
        self.tensor, self.mask, self.weight, self.options = tensor, mask, weight, fit_options
        self.generator, self.progress = generator, progress
        self.cache: dict[NetworkStructure, Evaluation] = {}
        self.history: list[Evaluation] = []

    def __call__(self, structure: NetworkStructure, init: Optional[NetworkTensor] = None,
                 steps: Optional[int] = None, patience: bool = True) -> Evaluation:
        """The evaluation of ``structure`` (cached), warm-started from the network ``init``; with ``steps``, a brief
        fit of that many steps instead (a trial, not cached); without ``patience``, the fit runs to the protocol's
        own stops (RSE below tolerance or the step budget)."""
        if steps is None and structure in self.cache:
            return self.cache[structure]
        options = dict(self.options)
        if steps is not None:
            options["max_steps"] = steps
        if steps is not None or not patience:
            options["patience"] = None
        fit = fit_network(self.tensor, structure, mask=self.mask, init=init,
                          random_state=self.generator, **options)
        evaluation = Evaluation(structure, fit, structure.compression_ratio + self.weight * fit.rse)
        if steps is None:
            self.cache[structure] = evaluation
        self.history.append(evaluation)
        best = min(self.history, key=lambda e: e.objective)
        self.progress.update(1)
        self.progress.set_postfix(best=f"{best.objective:.4g}", rse=f"{best.rse:.2g}",
                                  cr=f"{best.compression_ratio:.3g}")
        return evaluation

    def result(self) -> StructureSearch:
        self.progress.close()
        return StructureSearch(min(self.history, key=lambda e: e.objective), self.history)


def _evaluator(tensor, mask, weight, fit_options, random_state, progress, name) -> _Evaluator:
    """The checked arguments' evaluator; fits stop on a plateau of ``SEARCH_PATIENCE`` steps unless
    ``fit_options`` says otherwise."""
    tensor = check_tensor(tensor)
    if not isinstance(weight, (int, float)) or not weight > 0 or math.isinf(weight):
        raise ValueError(f"weight: expected a finite number > 0, got {weight!r}")
    options = {"patience": SEARCH_PATIENCE, **(fit_options or {})}
    return _Evaluator(tensor, mask, float(weight), options, generator_for(random_state, tensor.device),
                      tqdm(desc=name, unit="fit", disable=not progress))


def _check_rank_bound(max_rank) -> Optional[int]:
    return check_int("max_rank", max_rank, optional=True)


def greedy_search(tensor: Tensor, *, mask: Optional[Tensor] = None, weight: float = DEFAULT_WEIGHT, init=1,
                  max_rank: Optional[int] = None, candidate_steps: int = 300, max_evaluations: int = 1000,
                  fit_options: Optional[dict] = None, random_state=None, progress: bool = True) -> StructureSearch:
    """Greedy rank increments (Hashemizadeh et al.), then shrinking (decrements, rank moves and hand-overs).

    Args:
        tensor, mask: the tensor to represent and its observed entries.
        weight: :math:`\\lambda` of the objective.
        init: the starting structure: a :class:`NetworkStructure` of the tensor's shape, or an int rank on every
            pair (default 1, the paper's start).
        max_rank: no bond grows beyond this (None: no bound; the objective ends the search).
        candidate_steps: Adam steps for each candidate, from the current fit's cores; the chosen one is then
            fitted to convergence.
        max_evaluations: stop after this many fits.
        fit_options: keywords for :func:`fit_network` (default ``patience=500``).
        random_state, progress: seed / generator; a progress bar.
    """
    max_rank = _check_rank_bound(max_rank)
    evaluate = _evaluator(tensor, mask, weight, fit_options, random_state, progress,
                          "greedy structure search")
    current = evaluate(_initial_structure(init, evaluate.tensor.shape, max_rank))
    while len(evaluate.history) < max_evaluations:
        candidates = [current.structure.with_ranks({(k, l): current.structure.rank(k, l) + 1})
                      for k, l in current.structure.edges
                      if max_rank is None or current.structure.rank(k, l) < max_rank]
        if not candidates:
            break
        trials = [evaluate(c, current.fit, steps=candidate_steps) for c in candidates]
        chosen = min(trials, key=lambda e: e.objective)
        if chosen.objective >= current.objective:
            break
        refined = evaluate(chosen.structure, chosen.fit)
        if refined.objective >= current.objective:
            break
        current = refined
    while len(evaluate.history) < max_evaluations:
        lower = [evaluate(structure, current.fit, patience=False) for structure in _decrements(current.structure)]
        best = min(lower, key=lambda e: e.objective, default=current)
        if best.objective >= current.objective:                 # only then the (many more) moves and hand-overs
            moved = [evaluate(structure, current.fit) for structure in _rank_moves(current.structure, max_rank)]
            moved += [evaluate(start.structure, start) for start in _handovers(current.fit)]
            best = min(moved, key=lambda e: e.objective, default=current)
        if best.objective >= current.objective:
            break
        current = best
    return evaluate.result()


def _decrements(structure: NetworkStructure) -> list[NetworkStructure]:
    """Every structure with one bond one rank lower."""
    return [structure.with_ranks({(k, l): structure.rank(k, l) - 1}) for k, l in structure.edges
            if structure.rank(k, l) > 1]


def _rank_moves(structure: NetworkStructure, max_rank: Optional[int]) -> list[NetworkStructure]:
    """Every structure with one rank moved from a bond to another pair (within ``max_rank``) that has fewer
    parameters."""
    moved = (structure.with_ranks({(k, l): structure.rank(k, l) - 1, (m, n): structure.rank(m, n) + 1})
             for k, l in structure.edges if structure.rank(k, l) > 1
             for m, n in structure.edges
             if (m, n) != (k, l) and (max_rank is None or structure.rank(m, n) < max_rank))
    return [candidate for candidate in moved if candidate.num_parameters < structure.num_parameters]


def _handovers(fit: NetworkTensor) -> list[NetworkTensor]:
    """Every hand-over of ``fit`` (:meth:`NetworkTensor.handed_over`) with fewer parameters: a core passes its other
    bonds to a neighbour that shares none of them, the bond between the two keeping its rank or losing one."""
    structure = fit.structure
    starts = []
    for core in range(structure.order):
        for neighbour in structure.bonds(core):
            moved = [m for m in structure.bonds(core) if m != neighbour]
            if not moved or any(structure.rank(neighbour, m) > 1 for m in moved):
                continue
            for rank in sorted({structure.rank(core, neighbour), structure.rank(core, neighbour) - 1}):
                if structure.handed_over(core, neighbour, rank).num_parameters < structure.num_parameters:
                    starts.append(fit.handed_over(core, neighbour, rank))
    return starts


def _check_init_rank(init: int, max_rank: Optional[int]) -> int:
    if init < 1 or (max_rank is not None and init > max_rank):
        raise ValueError(f"init: expected a rank in 1..{max_rank or 'max_rank'}, got {init}")
    return init


def _initial_structure(init, shape: tuple[int, ...], max_rank: Optional[int]) -> NetworkStructure:
    """``init`` checked: a structure of ``shape``, or an int rank on every pair."""
    if is_int(init):
        init = NetworkStructure.uniform(shape, _check_init_rank(init, max_rank))
    if not isinstance(init, NetworkStructure) or init.shape != tuple(shape):
        raise ValueError(f"init: expected an int rank or a NetworkStructure of shape {list(shape)}, got {init!r}")
    return init


@dataclass(frozen=True)
class _Ring:
    """A point of TnALE's search under the ring constraint: the modes in ring ``order`` and the ``ranks`` of the
    bonds ``order[k] - order[k + 1 (mod N)]``. Its variables are the ``N`` ranks and the order."""

    shape: tuple[int, ...]
    order: tuple[int, ...]
    ranks: tuple[int, ...]

    @property
    def structure(self) -> NetworkStructure:
        n = len(self.order)
        return NetworkStructure.uniform(self.shape).with_ranks(
            {(self.order[k], self.order[(k + 1) % n]): r for k, r in enumerate(self.ranks)})

    def variables(self) -> list:
        return [*range(len(self.ranks)), "order"]

    def neighbours(self, variable, radius: int, max_rank: Optional[int]) -> list["_Ring"]:
        """Ranks within ``radius`` of bond ``variable``'s; for ``"order"``, every swap of two modes at most
        ``radius`` apart around the ring (the bond ranks stay in place)."""
        n = len(self.order)
        if variable == "order":
            swapped = []
            for i in range(n):
                for j in range(i + 1, n):
                    if min(j - i, n - j + i) <= radius:
                        order = list(self.order)
                        order[i], order[j] = order[j], order[i]
                        swapped.append(_Ring(self.shape, tuple(order), self.ranks))
            return swapped
        return [_Ring(self.shape, self.order, self.ranks[:variable] + (r,) + self.ranks[variable + 1:])
                for r in _ranks_around(self.ranks[variable], radius, max_rank)]


@dataclass(frozen=True)
class _AllPairs:
    """A point of TnALE's search over every pair's rank (topology search): one variable per pair."""

    structure: NetworkStructure

    def variables(self) -> list:
        return self.structure.edges

    def neighbours(self, variable, radius: int, max_rank: Optional[int]) -> list["_AllPairs"]:
        rank = self.structure.rank(*variable)
        return [_AllPairs(self.structure.with_ranks({variable: r})) for r in _ranks_around(rank, radius, max_rank)]


def _ranks_around(rank: int, radius: int, max_rank: Optional[int]) -> list[int]:
    top = rank + radius if max_rank is None else min(max_rank, rank + radius)
    return [r for r in range(max(1, rank - radius), top + 1) if r != rank]


def tnale(tensor: Tensor, *, mask: Optional[Tensor] = None, weight: float = DEFAULT_WEIGHT, init=1,
          topology: str = "all", radius: int = 2, max_rank: Optional[int] = None, max_sweeps: int = 20,
          max_evaluations: int = 1000, fit_options: Optional[dict] = None, random_state=None,
          progress: bool = True) -> StructureSearch:
    """Alternating local enumeration (Li et al.).

    Args:
        tensor, mask: the tensor to represent and its observed entries.
        weight: :math:`\\lambda` of the objective.
        init: the starting structure: a :class:`NetworkStructure` of the tensor's shape, or an int rank on every
            pair (on every ring bond with ``topology="ring"``, which takes an int only).
        topology: ``"all"``: every pair's rank is a variable (topology search on the adjacency matrix);
            ``"ring"``: the ranks of a ring's ``N`` bonds and the order of the modes around it, as in the paper's
            search under the ring constraint (a tensor train is a ring with one bond of rank 1).
        radius: the first sweeps enumerate ranks within this distance of the current one (and, on a ring, swaps
            of two modes at most this far apart); it shrinks by one after a sweep without progress, and a sweep at
            radius 1 without progress ends the search.
        max_rank: the largest rank enumerated (None: no bound).
        max_sweeps: at most this many sweeps over the variables; ``max_evaluations``: no variable's enumeration
            starts once this many fits are made.
        fit_options: keywords for :func:`fit_network` (default ``patience=500``).
        random_state, progress: seed / generator (it also draws the order of the variables in each sweep); a
            progress bar.
    """
    max_rank = _check_rank_bound(max_rank)
    check_int("radius", radius)
    if topology not in ("all", "ring"):
        raise ValueError(f"topology: expected 'all' or 'ring', got {topology!r}")
    evaluate = _evaluator(tensor, mask, weight, fit_options, random_state, progress,
                          "TnALE structure search")
    shape = evaluate.tensor.shape
    if topology == "ring":
        if len(shape) < 3:
            raise ValueError(f"topology: a ring needs a tensor of order >= 3, got order {len(shape)}")
        if not is_int(init):
            raise ValueError(f"init: topology='ring' starts from an int rank on every ring bond, got {init!r}")
        point = _Ring(tuple(shape), tuple(range(len(shape))), (_check_init_rank(init, max_rank),) * len(shape))
    else:
        point = _AllPairs(_initial_structure(init, shape, max_rank))
    current = evaluate(point.structure)
    variables = point.variables()
    for _ in range(max_sweeps):
        improved = False
        for index in torch.randperm(len(variables), generator=evaluate.generator).tolist():
            if len(evaluate.history) >= max_evaluations:
                break
            trials = [(evaluate(candidate.structure, current.fit), candidate)
                      for candidate in point.neighbours(variables[index], radius, max_rank)]
            best, best_point = min(trials, key=lambda trial: trial[0].objective, default=(current, point))
            if best.objective < current.objective:
                current, point, improved = best, best_point, True
        if len(evaluate.history) >= max_evaluations:
            break
        if not improved:
            if radius == 1:
                break
            radius -= 1
    return evaluate.result()
