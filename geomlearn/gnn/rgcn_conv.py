"""Relational graph convolution (Schlichtkrull et al., ESWC 2018) on one grouped matrix product."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.nn.inits import glorot, zeros

from ..argument_checks import check_channels, check_int, check_width
from ..sparse import SparseIndex, segment_matmul, spmm
from .message_passing import MessagePassing

REDUCTIONS = {"mean": "mean", "add": "sum", "sum": "sum", "max": "max"}


class RGCNConv(MessagePassing):
    r"""The relational graph convolution of `Schlichtkrull et al. <https://arxiv.org/abs/1703.06103>`_,

    .. math::
        x_i' = \Theta_{root}^\top x_i + b + \sum_{r = 1}^{R} W_r^\top \bigoplus_{j \in \mathcal N_r(i)} x_j,

    with :math:`\oplus` the mean (the paper's :math:`1 / c_{i,r} = 1 / |\mathcal N_r(i)|`), the sum or the
    maximum over the neighbours of relation :math:`r`. ``num_bases`` shares bases,
    :math:`W_r = \sum_b a_{rb} V_b`; ``num_blocks`` makes each :math:`W_r` block-diagonal.

    A drop-in for ``torch_geometric.nn.RGCNConv`` (parameters ``weight``, ``comp``, ``root``, ``bias``; featureless
    inputs, where ``x`` is ``None`` or node indices and ``weight`` rows are the nodes' embeddings). torch_geometric
    masks all edges once per relation and multiplies every node by every relation's matrix; here each distinct
    ``(target, relation)`` pair is reduced once by a fused :func:`~geomlearn.sparse.spmm`, the pairs are
    multiplied by their relation's matrix in one :func:`~geomlearn.sparse.segment_matmul` (with blocks, each block
    by its own small matrix), and summed into their targets, so the work is the pairs' (at most ``E``), not ``R x N``. Featureless inputs skip the matrix
    product: each edge reads its relation's embedding row of its source in the same fused ``spmm``.

    Args:
        in_channels: input size, or ``(source size, target size)``; for featureless inputs, the number of nodes.
        out_channels: output size.
        num_relations: number of relations :math:`R`.
        num_bases: basis decomposition with this many bases.
        num_blocks: block-diagonal decomposition with this many blocks (dividing both sizes).
        aggr: ``"mean"`` (default), ``"add"`` / ``"sum"`` or ``"max"``, over the neighbours of each relation.
        root_weight: add :math:`\Theta_{root}^\top x_i`.
        is_sorted: accepted for torch_geometric's signature (edges need no order here).
        bias: learn :math:`b`.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options.

    Shapes:
        - input: ``x [N, in]``, ``(x_src, x_dst)``, ``None`` or node indices ``[N]`` (featureless);
          ``edge_index [2, E]`` or ``SparseIndex``; ``edge_type [E]`` integers in ``[0, R)``
        - output: ``[N_dst, out_channels]``
    """

    def __init__(self, in_channels: Union[int, tuple[int, int]], out_channels: int, num_relations: int,
                 num_bases: Optional[int] = None, num_blocks: Optional[int] = None, aggr: str = "mean",
                 root_weight: bool = True, is_sorted: bool = False, bias: bool = True, **kwargs):
        if aggr not in REDUCTIONS:
            raise ValueError(f"aggr: expected one of {sorted(REDUCTIONS)}, got {aggr!r}")
        kwargs.setdefault("aggr", aggr)
        super().__init__(node_dim=0, **kwargs)
        if num_bases is not None and num_blocks is not None:
            raise ValueError(f"num_bases, num_blocks: choose one decomposition, got num_bases={num_bases} and "
                             f"num_blocks={num_blocks}")
        self.in_channels = check_channels("in_channels", in_channels, pair=True)
        self.out_channels = check_channels("out_channels", out_channels)
        self.num_relations = check_int("num_relations", num_relations, 1)
        self.num_bases = check_int("num_bases", num_bases, 1, optional=True)
        self.num_blocks = check_int("num_blocks", num_blocks, 1, optional=True)
        self.is_sorted, self.reduce = is_sorted, REDUCTIONS[aggr]
        in_src, in_dst = (in_channels, in_channels) if isinstance(in_channels, int) else in_channels
        self.in_channels_l = in_src
        if num_bases is not None:
            self.weight = torch.nn.Parameter(torch.empty(num_bases, in_src, out_channels))
            self.comp = torch.nn.Parameter(torch.empty(num_relations, num_bases))
        elif num_blocks is not None:
            if in_src % num_blocks or out_channels % num_blocks:
                raise ValueError(f"num_blocks: expected a divisor of in_channels ({in_src}) and out_channels "
                                 f"({out_channels}), got {num_blocks}")
            self.weight = torch.nn.Parameter(torch.empty(num_relations, num_blocks, in_src // num_blocks,
                                                         out_channels // num_blocks))
            self.comp = None
        else:
            self.weight = torch.nn.Parameter(torch.empty(num_relations, in_src, out_channels))
            self.comp = None
        self.root = torch.nn.Parameter(torch.empty(in_dst, out_channels)) if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        glorot(self.weight)
        glorot(self.comp)
        glorot(self.root)
        zeros(self.bias)

    def relation_weights(self) -> Tensor:
        r"""Every :math:`W_r`, ``[R, in, out]`` (the bases combined, or the blocks laid on the diagonal)."""
        if self.num_bases is not None:
            return (self.comp @ self.weight.reshape(self.num_bases, -1)).view(self.num_relations, self.in_channels_l,
                                                                              self.out_channels)
        if self.num_blocks is not None:
            blocks, rows, cols = self.weight.shape[1:]
            eye = torch.eye(blocks, dtype=self.weight.dtype, device=self.weight.device)
            return torch.einsum("rbio,bc->rbico", self.weight, eye).reshape(self.num_relations, blocks * rows,
                                                                            blocks * cols)
        return self.weight

    def forward(self, x: Union[Optional[Tensor], tuple[Optional[Tensor], Tensor]],
                edge_index: Union[Tensor, SparseIndex], edge_type: Optional[Tensor] = None) -> Tensor:
        x_src, x_dst = x if isinstance(x, tuple) else (x, None)
        if x_src is None:
            x_src = torch.arange(self.in_channels_l, device=self.weight.device)
        x_dst = x_src if x_dst is None else x_dst
        featureless = not x_src.is_floating_point()
        if featureless:
            _check_node_indices("x", x_src, self.in_channels_l)
            if self.num_blocks is not None:
                raise ValueError("x: the block-diagonal decomposition needs node features, got node indices "
                                 "(featureless input)")
        else:
            check_width("x", x_src, self.in_channels_l)
        if isinstance(edge_index, SparseIndex):
            src, dst = edge_index.src.long(), edge_index.dst.long()
            if (edge_index.num_src, edge_index.num_dst) != (x_src.shape[0], x_dst.shape[0]):
                raise ValueError(f"edge_index: the graph has {edge_index.num_src} sources and {edge_index.num_dst} "
                                 f"targets, the features {x_src.shape[0]} and {x_dst.shape[0]}")
        else:
            index = SparseIndex(edge_index, num_nodes=(x_src.shape[0], x_dst.shape[0]))
            src, dst = index.src.long(), index.dst.long()
        check_edge_types(edge_type, src.shape[0], self.num_relations)
        relations = self.num_relations
        pair_key, pair_of_edge = torch.unique(dst * relations + edge_type.long(), return_inverse=True)
        pair_dst, pair_relation = pair_key // relations, pair_key % relations
        weight = self.relation_weights()
        if featureless:
            rows = edge_type.long() * self.in_channels_l + x_src[src].long()
            reduced = spmm(SparseIndex(torch.stack([rows, pair_of_edge]), (relations * self.in_channels_l,
                                                                            pair_key.shape[0])),
                           weight.reshape(-1, self.out_channels), reduce=self.reduce)
            out = reduced.new_zeros(x_dst.shape[0], self.out_channels).index_add_(0, pair_dst, reduced)
        else:
            reduced = spmm(SparseIndex(torch.stack([src, pair_of_edge]), (x_src.shape[0], pair_key.shape[0])),
                           x_src, reduce=self.reduce)                                           # [P, in]
            transformed = relation_product(reduced, pair_relation, self.weight if self.num_blocks else weight,
                                           self.num_blocks is not None)                         # [P, out]
            out = transformed.new_zeros(x_dst.shape[0], self.out_channels).index_add_(0, pair_dst, transformed)
        if self.root is not None:
            out = out + (self.root[x_dst.long()] if not x_dst.is_floating_point() else x_dst @ self.root)
        return out if self.bias is None else out + self.bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_relations={self.num_relations})"


class FastRGCNConv(RGCNConv):
    """torch_geometric's ``FastRGCNConv``: the same layer and parameters as :class:`RGCNConv` (torch_geometric's
    trades memory for speed by gathering a weight matrix per edge; here both run the same fused computation,
    which stores no per-edge matrix). As torch_geometric's, it takes only the linear reductions.

    Raises:
        ValueError: ``aggr="max"``.
    """

    def __init__(self, *args, aggr: str = "mean", **kwargs):
        if aggr not in ("add", "sum", "mean"):
            raise ValueError(f"aggr: FastRGCNConv takes 'add', 'sum' or 'mean' (as torch_geometric's), got {aggr!r}")
        super().__init__(*args, aggr=aggr, **kwargs)


def relation_product(rows: Tensor, relation: Tensor, weight: Tensor, blocks: bool = False) -> Tensor:
    r"""``[P, out]``: each row times its relation's matrix, ``rows[p] @ W[relation[p]]``, as one
    :func:`~geomlearn.sparse.segment_matmul` over the rows grouped by relation. With ``blocks`` the weight is
    block-diagonal, ``[R, B, in / B, out / B]``, and the ``(row, block)`` pieces are grouped by ``(relation, block)``,
    so the zeros off the diagonal are never multiplied; else it is ``[R, in, out]``."""
    if blocks:
        num_blocks, block_in, block_out = weight.shape[1:]
        groups = (relation.unsqueeze(1) * num_blocks + torch.arange(num_blocks, device=rows.device)).reshape(-1)
        pieces, weight = rows.reshape(-1, block_in), weight.reshape(-1, block_in, block_out)
        out_channels = num_blocks * block_out
    else:
        groups, pieces, out_channels = relation, rows, weight.shape[2]
    order = torch.argsort(groups, stable=True)
    ptr = torch.zeros(weight.shape[0] + 1, dtype=torch.long, device=rows.device)
    ptr[1:] = torch.bincount(groups, minlength=weight.shape[0]).cumsum(0)
    product = segment_matmul(pieces[order], ptr, weight.to(rows.dtype))
    product = torch.empty_like(product).index_copy_(0, order, product)          # back to the rows' order
    return product.reshape(rows.shape[0], out_channels)


def _check_node_indices(name: str, x: Tensor, count: int) -> None:
    if x.dim() != 1 or (x.numel() and (int(x.min()) < 0 or int(x.max()) >= count)):
        raise ValueError(f"{name}: expected node indices [N] in [0, {count}) (featureless input: in_channels is the "
                         f"number of nodes), got shape {list(x.shape)}"
                         + (f" with values in [{int(x.min())}, {int(x.max())}]" if x.numel() else ""))


def check_edge_types(edge_type: Optional[Tensor], num_edges: int, num_relations: int) -> None:
    if not isinstance(edge_type, Tensor) or edge_type.is_floating_point() or edge_type.is_complex() or \
            edge_type.shape != (num_edges,):
        shape = list(edge_type.shape) if isinstance(edge_type, Tensor) else edge_type
        raise ValueError(f"edge_type: expected integer relation types [{num_edges}], one per edge, got {shape}")
    if num_edges and (int(edge_type.min()) < 0 or int(edge_type.max()) >= num_relations):
        raise ValueError(f"edge_type: expected relation types in [0, {num_relations}), got values in "
                         f"[{int(edge_type.min())}, {int(edge_type.max())}]")
