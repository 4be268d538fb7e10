r"""O(d)-NSD in the formulation of its reference implementation, as the speed suite's peer.

Per layer the reference (Bodnar et al.'s code) concatenates both ends' features for every edge
(``[E, 2 D C]``), maps them to restriction-map parameters and edge weights, turns them into orthogonal
maps with ``torch.linalg.householder_product``, writes every entry of the normalised sheaf Laplacian
(learned blocks, degrees and the fixed low- / high-pass channels) into one scalar COO matrix with
:math:`2 E d^2 + N D + \ldots` non-zeros, and multiplies it with a gather-scale-scatter SpMM, the
``torch_sparse.spmm`` pattern, which materialises an ``[nnz, C]`` product. The model, its parameters and
its outputs are exactly :class:`geomlearn.sheaf.BundleNSD`'s (the tests hold the two equal); only the
formulation differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from geomlearn.sheaf import BundleNSD
from geomlearn.sparse import SparseIndex, reference, reverse_edges


class ScalarCOOLaplacian:
    """``x [N, D, C] -> L x`` through a scalar COO matrix of ``(rows, cols, values)`` over ``N D`` coordinates."""

    def __init__(self, rows: Tensor, cols: Tensor, values: Tensor, num_nodes: int, stalk_dim: int):
        self.rows, self.cols, self.values = rows, cols, values
        self.num_nodes, self.stalk_dim = num_nodes, stalk_dim

    def __call__(self, x: Tensor) -> Tensor:
        flat = x.reshape(self.num_nodes * self.stalk_dim, -1)
        products = self.values.unsqueeze(1) * flat.index_select(0, self.cols)            # [nnz, C]
        return torch.zeros_like(flat).index_add_(0, self.rows, products).view_as(x)


class ScalarCOOBundleNSD(BundleNSD):
    """:class:`~geomlearn.sheaf.BundleNSD` (Householder maps, learned edge weights, optional low- and high-pass
    channels) evaluated the reference implementation's way; ``load_state_dict`` takes a ``BundleNSD``'s."""

    def fixed_channels(self, index: SparseIndex, dtype: torch.dtype) -> None:
        return None                                          # written into the same COO matrix below

    def laplacian(self, layer: int, x: Tensor, h: Tensor, index: SparseIndex, previous) -> ScalarCOOLaplacian:
        if self.shared_sheaf or self.learners[layer].stalk_sum or self.maps != "householder":
            raise ValueError("ScalarCOOBundleNSD: only Householder maps and per-layer sheaves are written")
        learner = self.learners[layer]
        n, dim, d = h.shape[0], self.stalk_dim, self.d
        h = F.dropout(h, self.dropout if layer > 0 else 0.0, self.training)
        flat = h.reshape(n, -1)
        src, dst = index.src.long(), index.dst.long()
        concat = torch.cat([flat[src], flat[dst]], dim=1)                               # [E, 2 D C]
        weight = torch.cat([learner.own.weight, learner.other.weight], dim=1)
        params = concat @ weight.T
        maps = reference.householder_orthogonal(torch.tanh(params[:, :-1]), d)   # LAPACK, per matrix
        gate = torch.sigmoid(params[:, -1])
        rev = reverse_edges(index)
        edge_weight = gate * gate[rev]
        degree = torch.zeros(n, dtype=h.dtype).index_add_(0, src, edge_weight.square())
        scale = (degree + 1).rsqrt()
        blocks = -(edge_weight.square() * scale[dst] * scale[src]).view(-1, 1, 1) \
            * (maps[rev].transpose(1, 2) @ maps)                                     # L_vu, e = u -> v
        p, q = torch.meshgrid(torch.arange(d), torch.arange(d), indexing="ij")
        diagonal = (torch.arange(n).view(-1, 1) * dim + torch.arange(d)).reshape(-1)
        rows = [(dst.view(-1, 1, 1) * dim + p).reshape(-1), diagonal]
        cols = [(src.view(-1, 1, 1) * dim + q).reshape(-1), diagonal]
        values = [blocks.reshape(-1), (degree * scale.square()).repeat_interleave(d)]
        count = torch.zeros(n, dtype=h.dtype).index_add_(0, src, torch.ones_like(edge_weight))
        fixed = (count + 1).rsqrt()
        signs = [sign for sign, wanted in ((-1.0, self.low_pass), (1.0, self.high_pass)) if wanted]
        for coordinate, sign in enumerate(signs, start=d):     # D - A (low pass), D + A (high pass), normalised
            rows += [dst * dim + coordinate, torch.arange(n) * dim + coordinate]
            cols += [src * dim + coordinate, torch.arange(n) * dim + coordinate]
            values += [sign * fixed[dst] * fixed[src], count * fixed.square()]
        return ScalarCOOLaplacian(torch.cat(rows), torch.cat(cols), torch.cat(values), n, dim)


def laplacian_nonzeros(index: SparseIndex, d: int, fixed: int) -> int:
    """Non-zeros of the scalar matrix: ``E d^2`` off-diagonal, ``N d`` diagonal, ``E + N`` per fixed channel."""
    return index.num_edges * d * d + index.num_dst * d + fixed * (index.num_edges + index.num_dst)
