r"""Connection sheaves from data (Barbero et al., 2022): local PCA tangent frames, aligned by Procrustes.

Under the manifold assumption each node's features :math:`x_v \in \mathbb R^C` lie near a
:math:`d`-dimensional manifold whose tangent space at :math:`x_v` is spanned by the leading principal
directions of the offsets :math:`x_u - x_v` to the node's neighbours: the frame :math:`O_v \in \mathbb R^{C \times d}`.
The transport of an edge ``u -> v`` is the orthogonal map that best aligns the two frames,

.. math::
    T_{vu} = \arg\min_{T \in O(d)} \lVert O_v T - O_u \rVert_F = U V^\top, \qquad O_v^\top O_u = U \Sigma V^\top,

and the connection Laplacian has off-diagonal blocks :math:`-T_{vu}` (:math:`T_{uv} = T_{vu}^\top`). As
restriction maps: :math:`F = T_{vu}` at the lower-numbered end ``u`` of each edge and :math:`I` at the other.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..argument_checks import is_int
from ..sparse import SparseIndex, reverse_edges

# Neighbourhood matrices [nodes, rows, C] are decomposed in chunks of at most this many elements.
_CHUNK_ELEMENTS = 1 << 24


def _check_features(x: Tensor, index: SparseIndex, d: int) -> None:
    if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] != index.num_dst or not x.is_floating_point():
        shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x: expected floating-point node features [{index.num_dst}, C], got {shape}")
    if not is_int(d) or not 1 <= d <= x.shape[1]:
        raise ValueError(f"d: expected a stalk dimension between 1 and the feature width {x.shape[1]}, got {d!r}")


def leading_right_singular_vectors(matrix: Tensor, d: int) -> Tensor:
    r"""``[B, C, d]``: the ``d`` leading right singular vectors of each ``[rows, C]`` matrix :math:`M` of a batch
    ``[B, rows, C]``, read off the smaller Gram matrix: with :math:`M M^\top = U \Sigma^2 U^\top`,
    :math:`v_i = M^\top u_i / \lVert M^\top u_i \rVert` (or the eigenvectors of :math:`M^\top M` when
    ``rows >= C``). A full SVD computes every singular vector: on Squirrel's ``[1024, 2089]`` neighbourhoods
    this is 5.6x faster. The Gram matrix is formed and decomposed in float64, so directions whose singular values
    are :math:`10^{-3}` of the largest (the frames' regulariser) keep float32 accuracy."""
    m = matrix.double()
    if m.shape[1] < m.shape[2]:
        left = torch.linalg.eigh(m @ m.transpose(1, 2))[1][..., -d:].flip(-1)          # u_1 .. u_d
        right = m.transpose(1, 2) @ left
        right = right / right.norm(dim=1, keepdim=True)
    else:
        right = torch.linalg.eigh(m.transpose(1, 2) @ m)[1][..., -d:].flip(-1)
    return right.to(matrix.dtype)


def local_pca_frames(x: Tensor, index: SparseIndex, d: int) -> Tensor:
    r"""``[N, C, d]``: orthonormal frames of the ``d`` leading principal directions of each node's offsets
    :math:`\{x_u - x_v : u \to v\}`.

    Nodes are grouped by degree and their neighbourhood matrices (zero-padded to the group's size) decomposed in
    batches (``leading_right_singular_vectors``), in chunks of bounded memory. A neighbourhood spanning fewer than
    ``d`` directions (a node of degree < d, or neighbours with equal features) is completed by the data set's own
    principal directions: every neighbourhood carries them as extra rows scaled by :math:`10^{-3}` of its largest
    offset, which leaves a well-determined frame unchanged to that order.
    Each direction's sign is fixed (largest entry positive).
    """
    _check_features(x, index, d)
    n = x.shape[0]
    centred = x - x.mean(dim=0)
    global_directions = torch.linalg.svd(centred, full_matrices=False)[2][:d]            # [d, C]
    csr = index.csr()
    ptr, neighbours = csr.ptr.long(), csr.idx.long()
    degree = ptr[1:] - ptr[:-1]
    frames = x.new_empty(n, x.shape[1], d)
    rows_needed = degree + d
    # Nodes whose neighbourhoods have about as many rows are decomposed together, padded to a common size: four
    # sizes per octave (rows rounded up to a multiple of a quarter of their power of two), so padding adds at most
    # a quarter of the rows; the decomposition's cost grows with their cube.
    step = (2 ** (torch.floor(torch.log2(rows_needed.double())).long() - 2)).clamp(min=1)
    bucket = (rows_needed + step - 1) // step * step
    for rows in bucket.unique().tolist():
        nodes_all = (bucket == rows).nonzero().squeeze(1)
        per_chunk = max(1, _CHUNK_ELEMENTS // (rows * x.shape[1]))
        for nodes in nodes_all.split(per_chunk):
            slot = torch.arange(rows - d, device=x.device)
            valid = slot < degree[nodes].unsqueeze(1)                                    # [n_b, rows - d]
            position = (ptr[nodes].unsqueeze(1) + slot).clamp(max=max(neighbours.numel() - 1, 0))
            offsets = x[neighbours[position]] if neighbours.numel() else x.new_zeros(len(nodes), rows - d, x.shape[1])
            offsets = (offsets - x[nodes].unsqueeze(1)) * valid.unsqueeze(-1)
            norms = offsets.norm(dim=-1)
            scale = norms.amax(dim=1) if norms.shape[1] else norms.new_ones(len(nodes))
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))               # isolated: the global frame
            regulariser = 1e-3 * scale.view(-1, 1, 1) * global_directions
            matrix = torch.cat([offsets, regulariser], dim=1)                           # [n_b, rows, C]
            frames[nodes] = leading_right_singular_vectors(matrix, d)
    # Fix each direction's sign (its largest entry positive), so frames do not depend on the order the
    # neighbours are stored in: the model is then equivariant to node relabelling.
    largest = frames.gather(1, frames.abs().argmax(dim=1, keepdim=True))
    return frames * torch.where(largest < 0, -1.0, 1.0).to(frames.dtype)


def procrustes_transports(frames: Tensor, index: SparseIndex) -> Tensor:
    r"""``[E, d, d]``: :math:`T_{vu} = U V^\top` from the SVD of :math:`O_v^\top O_u`, for each edge ``u -> v``."""
    overlap = frames[index.dst.long()].transpose(1, 2) @ frames[index.src.long()]
    u, _, vh = torch.linalg.svd(overlap)
    return u @ vh


def connection_maps(x: Tensor, index: SparseIndex, d: int) -> Tensor:
    r"""Restriction maps ``[E, d, d]`` of the connection sheaf of ``x [N, C]`` on a symmetric graph:
    :math:`T_{vu}` on the edge ``u -> v`` when ``u < v``, the identity on its reverse, so that
    :func:`~geomlearn.sheaf.sheaf_laplacian` (with ``orthogonal=True``) gives the connection Laplacian with
    blocks :math:`-T_{vu}`. Computed without gradient: the sheaf is fixed before training.

    Raises:
        ValueError: ``x`` is not ``[N, C]`` floating point, ``d`` is not in ``1..C``, or the graph is not symmetric.
    """
    _check_features(x, index, d)
    reverse_edges(index)                                                   # raises on a graph that is not symmetric
    with torch.no_grad():
        transports = procrustes_transports(local_pca_frames(x, index, d), index)
        lower = (index.src < index.dst).view(-1, 1, 1)
        eye = torch.eye(d, dtype=x.dtype, device=x.device)
        return torch.where(lower, transports, eye)
