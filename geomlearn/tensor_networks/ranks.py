r"""The ``rank`` argument of every decomposition, resolved against the tensor's shape.

A rank is an int, a tuple (one per mode for Tucker, one per bond for TT / TR) or a float in ``(0, 1]``: the
fraction of the dense tensor's :math:`\prod_n I_n` entries the decomposition may hold as parameters.

===============  ===========================================  ============================================
decomposition    int / tuple                                  parameters
===============  ===========================================  ============================================
CP               :math:`R \le \prod_n I_n / \max_n I_n`         :math:`R \sum_n I_n`
Tucker           :math:`R_n \le I_n`                           :math:`\prod_n R_n + \sum_n I_n R_n`
tensor train     bonds :math:`R_0 = R_N = 1`, :math:`R_k \le`   :math:`\sum_n R_{n} I_n R_{n+1}`
                 :math:`\min(\prod_{n<k} I_n, \prod_{n\ge k} I_n)`
===============  ===========================================  ============================================

A rank the shape cannot hold is an error, never clipped; an int TT rank is the largest bond dimension
(each bond is also bounded by the shape there).
"""

from __future__ import annotations

import math

from ..argument_checks import is_int


def _fraction(rank) -> float:
    if not 0 < rank <= 1:
        raise ValueError(f"rank: a float rank is a fraction of the dense parameter count in (0, 1], got {rank!r}")
    return float(rank)


def cp_rank(rank, shape) -> int:
    """The CP rank ``R`` for ``shape``."""
    bound = math.prod(shape) // max(shape)
    if isinstance(rank, float):
        rank = max(1, round(_fraction(rank) * math.prod(shape) / sum(shape)))
    if not is_int(rank) or rank < 1:
        raise ValueError(f"rank: expected an int >= 1 or a float fraction, got {rank!r}")
    if rank > bound:
        raise ValueError(f"rank: expected at most {bound} (the product of all sizes but the largest, for shape "
                         f"{list(shape)}), got {rank}")
    return rank


def tucker_rank(rank, shape) -> tuple[int, ...]:
    """The Tucker ranks ``(R_1, ..., R_N)`` for ``shape``."""
    if isinstance(rank, float):
        fraction = _fraction(rank)
        count = lambda ranks: math.prod(ranks) + sum(r * s for r, s in zip(ranks, shape))   # noqa: E731
        lo, hi = 0.0, 1.0
        for _ in range(60):                          # the largest uniform scaling of the shape within budget
            mid = (lo + hi) / 2
            ranks = [max(1, round(mid * s)) for s in shape]
            lo, hi = (mid, hi) if count(ranks) <= fraction * math.prod(shape) else (lo, mid)
        return tuple(max(1, round(lo * s)) for s in shape)
    ranks = (rank,) * len(shape) if is_int(rank) else tuple(rank) if isinstance(rank, (tuple, list)) else None
    if ranks is None or len(ranks) != len(shape) or not all(is_int(r) and r >= 1 for r in ranks):
        raise ValueError(f"rank: expected an int, {len(shape)} ints >= 1 or a float fraction, got {rank!r}")
    for n, (r, s) in enumerate(zip(ranks, shape)):
        if r > s:
            raise ValueError(f"rank: mode {n} has size {s}, so its Tucker rank is at most {s}; got {r}")
    for n, r in enumerate(ranks):                   # a multilinear rank: R_n <= the product of the other R_m
        others = math.prod(ranks[:n] + ranks[n + 1:])
        if r > others:
            raise ValueError(f"rank: no tensor has multilinear rank {list(ranks)}: mode {n}'s rank {r} exceeds the "
                             f"product of the other modes' ranks ({others}); the core's mode-{n} unfolding has at most "
                             f"{others} columns")
    return ranks


def tt_rank(rank, shape) -> tuple[int, ...]:
    """The TT bond dimensions ``(1, R_1, ..., R_{N-1}, 1)`` for ``shape`` (``rank`` an int maximum, ``N - 1``
    internal bonds, all ``N + 1`` bonds, or a float fraction)."""
    order = len(shape)
    bounds = [min(math.prod(shape[:k]), math.prod(shape[k:])) for k in range(order + 1)]
    if isinstance(rank, float):
        fraction = _fraction(rank)
        best = 1
        for largest in range(1, max(bounds) + 1):
            ranks = [min(largest, b) for b in bounds]
            if sum(ranks[n] * shape[n] * ranks[n + 1] for n in range(order)) > fraction * math.prod(shape):
                break
            best = largest
        return tuple(min(best, b) for b in bounds)
    if is_int(rank) and rank >= 1:
        return tuple(min(rank, b) for b in bounds)
    ranks = tuple(rank) if isinstance(rank, (tuple, list)) else None
    if ranks is not None and len(ranks) == order - 1:
        ranks = (1, *ranks, 1)
    if ranks is None or len(ranks) != order + 1 or not all(is_int(r) and r >= 1 for r in ranks):
        raise ValueError(f"rank: expected an int, {order - 1} or {order + 1} ints >= 1 or a float fraction, "
                         f"got {rank!r}")
    if ranks[0] != 1 or ranks[-1] != 1:
        raise ValueError(f"rank: a tensor train's boundary bonds are 1, got {ranks}")
    for k, (r, b) in enumerate(zip(ranks, bounds)):
        if r > b:
            raise ValueError(f"rank: bond {k} of shape {list(shape)} holds at most {b}, got {r}")
    return ranks
