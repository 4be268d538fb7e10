r"""Radius graphs by a sorted cell list, with optional periodic cells; no torch_cluster needed.

Space is cut into cubes of side :math:`r`; every point is keyed by (batch, cube) and the points sorted by
key, so each cube's points are one contiguous range. A point's neighbours lie in the 27 cubes around its
own: for each of the 27 offsets the matching range is found by binary search, the candidate pairs are
enumerated with ``repeat_interleave`` and kept when :math:`|x_i - x_j| < r`. Work and memory are
:math:`O(N \cdot \text{points per cube} \cdot 27)`, not :math:`O(N^2)`.

With a periodic ``cell`` (rows are the lattice vectors) the sources are the points' images
:math:`x_j + n^\top \text{cell}` for the integer shifts :math:`n` that can come within :math:`r` of the unit
cell, so cells smaller than :math:`2r` (many images of one neighbour) are handled too.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Optional

import torch
from torch import Tensor


def _check(pos: Tensor, r: float, batch: Optional[Tensor], name: str = "pos") -> None:
    if not isinstance(pos, Tensor) or pos.dim() != 2 or pos.shape[1] != 3 or not pos.is_floating_point():
        shape = list(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
        raise ValueError(f"{name}: expected floating-point positions [N, 3], got {shape}")
    if not torch.isfinite(pos).all():
        raise ValueError(f"{name}: expected finite positions, got {int((~torch.isfinite(pos)).any(1).sum())} rows with "
                         f"NaN or inf")
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0 or not math.isfinite(r):
        raise ValueError(f"r: expected a finite cutoff > 0, got {r!r}")
    if batch is not None and (not isinstance(batch, Tensor) or batch.shape != (pos.shape[0],) or
                              batch.is_floating_point() or (batch.numel() and batch.min() < 0)):
        shape = list(batch.shape) if isinstance(batch, Tensor) else type(batch).__name__
        raise ValueError(f"batch: expected non-negative graph ids [{pos.shape[0]}], got {shape}")


def _pairs_within(targets: Tensor, sources: Tensor, target_batch: Tensor, source_batch: Tensor,
                  r: float) -> tuple[Tensor, Tensor]:
    """``(source, target)`` index pairs with ``|targets[t] - sources[s]| < r`` and equal batch ids."""
    origin = torch.minimum(targets.min(0).values, sources.min(0).values) if len(sources) else targets.min(0).values
    cube = lambda x: torch.floor((x - origin) / r).long()                       # noqa: E731
    source_cubes, target_cubes = cube(sources), cube(targets)
    extent = torch.maximum(source_cubes.max(0).values, target_cubes.max(0).values) + 3
    strides = torch.stack([extent[1] * extent[2], extent[2], torch.ones_like(extent[2])])
    per_batch = int(extent.prod())
    key = lambda b, c: b * per_batch + ((c + 1) * strides).sum(1)               # noqa: E731  (+1: no negatives)
    source_key = key(source_batch, source_cubes)
    order = torch.argsort(source_key)
    sorted_key = source_key[order]
    found_sources, found_targets = [], []
    for offset in product((-1, 0, 1), repeat=3):
        wanted = key(target_batch, target_cubes + torch.tensor(offset, device=targets.device))
        start = torch.searchsorted(sorted_key, wanted)
        count = torch.searchsorted(sorted_key, wanted, right=True) - start
        target = torch.repeat_interleave(torch.arange(len(targets), device=targets.device), count)
        first = torch.repeat_interleave(start - torch.cumsum(count, 0) + count, count)
        source = order[first + torch.arange(len(target), device=targets.device)]
        close = (targets[target] - sources[source]).square().sum(1) < r * r
        found_sources.append(source[close])
        found_targets.append(target[close])
    return torch.cat(found_sources), torch.cat(found_targets)


def periodic_radius_graph(pos: Tensor, r: float, cell: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                          loop: bool = False) -> tuple[Tensor, Optional[Tensor]]:
    r"""All ordered pairs closer than ``r``, across the faces of a periodic cell: ``(edge_index [2, E], shifts
    [E, 3] or None)``, every neighbour kept.

    ``edge_index[0]`` is the source :math:`j`, ``edge_index[1]`` the target :math:`i` (torch_geometric's
    flow), both directions present, sorted by target then source. Without ``cell`` the edge vector is
    ``pos[i] - pos[j]`` and ``shifts`` is ``None``; with a periodic ``cell [3, 3]`` (lattice vectors as rows;
    positions in it) an edge may join a point to an image of another (or of itself), ``shifts`` holds the
    integer image shifts :math:`n` and the edge vector is ``pos[i] - pos[j] - shifts @ cell``.

    Args:
        pos: ``[N, 3]`` positions.
        r: the cutoff (strict: :math:`|x_i - x_j| < r`).
        cell: the periodic cell, all three directions periodic; ``None`` for open space.
        batch: ``[N]`` graph ids; points of different graphs are never joined.
        loop: keep the pairs :math:`i = j` (without shift).

    Raises:
        ValueError: positions not ``[N, 3]`` or not finite, ``r <= 0``, a bad ``batch`` or ``cell``.
    """
    _check(pos, r, batch)
    return _search(pos, r, cell, batch, loop)


def _search(pos: Tensor, r: float, cell: Optional[Tensor], batch: Optional[Tensor],
            loop: bool) -> tuple[Tensor, Optional[Tensor]]:
    """:func:`periodic_radius_graph` on checked positions, cutoff and batch (``cell`` is checked here)."""
    batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device) if batch is None else batch.long()
    if pos.shape[0] == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device), None if cell is None else pos.new_zeros(0, 3)
    if cell is None:
        source, target = _pairs_within(pos, pos, batch, batch, r)
        shifts = None
        keep = source != target if not loop else torch.ones_like(source, dtype=torch.bool)
    else:
        if not isinstance(cell, Tensor) or cell.shape != (3, 3) or not torch.isfinite(cell).all() or \
                abs(float(torch.linalg.det(cell.double()))) < 1e-12:
            raise ValueError(f"cell: expected a non-singular finite [3, 3] lattice, got "
                             f"{list(cell.shape) if isinstance(cell, Tensor) else cell!r}")
        cell = cell.to(pos.dtype)
        # Images needed along lattice vector k: r over the distance between the planes spanned by the other two.
        normals = torch.linalg.inv(cell).T                                       # rows: reciprocal vectors
        widths = 1.0 / normals.norm(dim=1)
        reach = [int(math.ceil(r / float(w))) for w in widths]
        images = torch.tensor(list(product(*(range(-k, k + 1) for k in reach))), dtype=pos.dtype, device=pos.device)
        sources = (pos.unsqueeze(0) + (images @ cell).unsqueeze(1)).reshape(-1, 3)
        source, target = _pairs_within(pos, sources, batch, batch.repeat(len(images)), r)
        image, source = source // pos.shape[0], source % pos.shape[0]
        shifts = images[image]
        keep = (source != target) | (shifts != 0).any(1) if not loop else torch.ones_like(source, dtype=torch.bool)
        shifts = shifts[keep]
    source, target = source[keep], target[keep]
    order = torch.argsort(target * (pos.shape[0] + 1) + source, stable=True)
    return torch.stack([source[order], target[order]]), None if shifts is None else shifts[order]


def radius_graph(x: Tensor, r: float, batch: Optional[Tensor] = None, loop: bool = False,
                 max_num_neighbors: Optional[int] = 32, flow: str = "source_to_target", num_workers: int = 1,
                 batch_size: Optional[int] = None) -> Tensor:
    r"""torch_geometric's ``radius_graph``: ``edge_index [2, E]`` joining every point to the points closer than
    ``r`` (strictly), at most ``max_num_neighbors`` of them per target, as torch_cluster computes it.

    Where a point has more neighbours than ``max_num_neighbors``, torch_cluster keeps an arbitrary subset;
    geomlearn keeps the nearest (ties by index), so the graph does not depend on the search order. The edges come
    sorted by target, then source. For periodic cells, see :func:`periodic_radius_graph`.

    Args:
        x: ``[N, 3]`` positions.
        r: the cutoff.
        batch: ``[N]`` graph ids; points of different graphs are never joined.
        loop: join every point to itself too.
        max_num_neighbors: the most neighbours per target (torch_geometric's default 32, which truncates dense
            neighbourhoods); ``None`` keeps every one.
        flow: ``"source_to_target"`` (``edge_index[1]`` is the point whose neighbours ``edge_index[0]`` are) or
            ``"target_to_source"`` (the rows swapped).
        num_workers, batch_size: accepted for torch_geometric's signature; the search does not use them.

    Raises:
        ValueError: positions not ``[N, 3]`` or not finite, ``r <= 0``, a bad ``batch``, ``max_num_neighbors`` or
            ``flow``.
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow: expected 'source_to_target' or 'target_to_source', got {flow!r}")
    if max_num_neighbors is not None and (isinstance(max_num_neighbors, bool) or not isinstance(max_num_neighbors, int)
                                          or max_num_neighbors < 0):
        raise ValueError(f"max_num_neighbors: expected an int >= 0 or None, got {max_num_neighbors!r}")
    _check(x, r, batch, "x")
    edge_index, _ = _search(x, r, None, batch, loop)
    if max_num_neighbors is not None and edge_index.shape[1]:
        source, target = edge_index
        distance = (x[target] - x[source]).square().sum(1)
        # Rank each edge among its target's by distance (then source): sort by (target, distance, source).
        order = torch.argsort(distance, stable=True)
        order = order[torch.argsort(target[order], stable=True)]
        counts = torch.bincount(target, minlength=x.shape[0])
        rank = torch.arange(len(order), device=x.device) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts,
                                                                                   counts)
        kept = torch.sort(order[rank < max_num_neighbors]).values        # back to (target, source) order
        edge_index = edge_index[:, kept]
    return edge_index if flow == "source_to_target" else edge_index.flip(0)
