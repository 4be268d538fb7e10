"""Relational graph attention (Busbridge et al., 2019)."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.inits import glorot

from ..argument_checks import check_channels, check_int, check_probability, check_real, check_width
from ..sparse import SparseIndex, segment_softmax, spmm
from ..sparse.graph_input import as_sparse_index, edge_features_of
from ..tall_linear import tall_linear
from .message_passing import MessagePassing
from .rgcn_conv import check_edge_types, relation_product

MODS = (None, "additive", "scaled", "f-additive", "f-scaled")
MECHANISMS = ("across-relation", "within-relation")
MODES = ("additive-self-attention", "multiplicative-self-attention")


class RGATConv(MessagePassing):
    r"""The relational graph attention operator of `Busbridge et al. <https://arxiv.org/abs/1904.05811>`_. With
    :math:`z^r_i = x_i W_r` (``[H C]``, per relation :math:`r`), per edge :math:`e = (j \to i)` of relation
    :math:`r`,

    .. math::
        a_e = \mathrm{LeakyReLU}\big(z^r_i Q + z^r_j K\big) \ \text{(additive)} \quad\text{or}\quad
        a_e = (z^r_i Q) \odot (z^r_j K) \ \text{(multiplicative, } D = \texttt{dim} \text{ per head)}, \qquad
        \alpha = \operatorname{softmax}(a), \qquad x_i' = \sum_{e = (j \to i)} \alpha_e\, z^r_j + b

    with the softmax over each target's incoming edges (``across-relation``) or over those of each relation
    separately (``within-relation``), and the cardinality-preserving variants ``mod`` of the paper.

    A drop-in for ``torch_geometric.nn.RGATConv`` (parameters ``weight`` or ``att`` / ``basis`` (bases) or
    ``weight`` (blocks), ``q``, ``k``, ``e``, ``lin_edge``, ``w``, ``l1``, ``b1``, ``l2``, ``b2``, ``bias``). How it
    runs: torch_geometric multiplies both endpoints of every edge by their relation's ``[in, H C]`` matrix
    (``E x in x H C`` work and an ``[E, in, H C]`` gathered weight); here each distinct (node, relation) pair is
    transformed once, by one :func:`~geomlearn.sparse.segment_matmul` grouped by relation, the scores are
    gathered from per-pair projections (``[E, H D]``), normalised by :func:`~geomlearn.sparse.segment_softmax`, and
    the messages are one multi-head :func:`~geomlearn.sparse.spmm` from the source pairs: no per-edge matrix and no
    ``[E, H, C]`` message tensor (except for the ``"additive"`` mod under a max / min aggregation).

    Args:
        in_channels: input size.
        out_channels: size per head :math:`C`.
        num_relations: number of relations.
        num_bases: basis decomposition of the relation matrices, or ``None``.
        num_blocks: block-diagonal decomposition, or ``None``.
        mod: ``None``, ``"additive"``, ``"scaled"``, ``"f-additive"`` or ``"f-scaled"``.
        attention_mechanism: ``"across-relation"`` or ``"within-relation"``.
        attention_mode: ``"additive-self-attention"`` or ``"multiplicative-self-attention"``.
        heads: number of heads :math:`H`.
        dim: attention size per head :math:`D` (multiplicative mode).
        concat: concatenate the heads, else average them.
        negative_slope: slope of the LeakyReLU.
        dropout: dropout on the attention (with ``mod=None``).
        edge_dim: size of the edge features that enter the scores, or ``None``.
        bias: learn an additive bias.
        **kwargs: :class:`~geomlearn.gnn.MessagePassing`'s options (``aggr``: default ``"add"``).

    Shapes:
        - input: ``x [N, in]``, ``edge_index`` / ``SparseIndex``, ``edge_type [E]``, ``edge_attr [E, edge_dim]``
          (optional; a ``torch.sparse`` adjacency's values are taken as the edge features, as in torch_geometric)
        - output: ``[N, H C]`` (``[N, H D C]`` multiplicative) with ``concat``, else ``[N, C]`` (``[N, D C]``);
          when ``return_attention_weights`` is a bool also ``(edge_index, alpha [E, H D])``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, num_bases: Optional[int] = None,
                 num_blocks: Optional[int] = None, mod: Optional[str] = None,
                 attention_mechanism: str = "across-relation", attention_mode: str = "additive-self-attention",
                 heads: int = 1, dim: int = 1, concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0,
                 edge_dim: Optional[int] = None, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        check_channels("in_channels", in_channels)
        check_channels("out_channels", out_channels)
        check_int("num_relations", num_relations)
        check_int("num_bases", num_bases, optional=True)
        check_int("num_blocks", num_blocks, optional=True)
        check_int("heads", heads)
        check_int("dim", dim)
        check_int("edge_dim", edge_dim, optional=True)
        check_probability("dropout", dropout)
        check_real("negative_slope", negative_slope)
        for name, value, allowed in (("mod", mod, MODS), ("attention_mechanism", attention_mechanism, MECHANISMS),
                                     ("attention_mode", attention_mode, MODES)):
            if value not in allowed:
                raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")
        if attention_mode == MODES[0] and dim > 1:
            raise ValueError(f"dim: the additive self-attention has one score per head (dim=1), got {dim}; use "
                             "attention_mode='multiplicative-self-attention'")
        if dropout > 0 and mod is not None:
            raise ValueError(f"dropout: the attention dropout needs mod=None, got mod={mod!r} and dropout={dropout}")
        if num_bases is not None and num_blocks is not None:
            raise ValueError("num_bases, num_blocks: one decomposition at a time, got both")
        width = heads * out_channels
        if num_blocks is not None and (in_channels % num_blocks or width % num_blocks):
            raise ValueError(f"num_blocks: expected a divisor of in_channels={in_channels} and heads * out_channels="
                             f"{width}, got {num_blocks}")
        self.in_channels, self.out_channels, self.num_relations = in_channels, out_channels, num_relations
        self.num_bases, self.num_blocks, self.mod = num_bases, num_blocks, mod
        self.attention_mechanism, self.attention_mode = attention_mechanism, attention_mode
        self.heads, self.dim, self.concat = heads, dim, concat
        self.negative_slope, self.dropout, self.edge_dim = negative_slope, dropout, edge_dim
        self.activation = torch.nn.ReLU()
        self.q = torch.nn.Parameter(torch.empty(width, heads * dim))
        self.k = torch.nn.Parameter(torch.empty(width, heads * dim))
        total = (heads if concat else 1) * dim * out_channels
        self.bias = torch.nn.Parameter(torch.empty(total)) if bias else None
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, width, bias=False, weight_initializer="glorot")
            self.e = torch.nn.Parameter(torch.empty(width, heads * dim))
        else:
            self.lin_edge, self.e = None, None
        if num_bases is not None:
            self.att = torch.nn.Parameter(torch.empty(num_relations, num_bases))
            self.basis = torch.nn.Parameter(torch.empty(num_bases, in_channels, width))
        elif num_blocks is not None:
            self.weight = torch.nn.Parameter(torch.empty(num_relations, num_blocks, in_channels // num_blocks,
                                                         width // num_blocks))
        else:
            self.weight = torch.nn.Parameter(torch.empty(num_relations, in_channels, width))
        self.w = torch.nn.Parameter(torch.ones(out_channels))
        self.l1 = torch.nn.Parameter(torch.empty(1, out_channels))
        self.b1 = torch.nn.Parameter(torch.empty(1, out_channels))
        self.l2 = torch.nn.Parameter(torch.empty(out_channels, out_channels))
        self.b2 = torch.nn.Parameter(torch.empty(1, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.num_bases is not None:
            glorot(self.basis)
            glorot(self.att)
        else:
            glorot(self.weight)
        glorot(self.q)
        glorot(self.k)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)
        torch.nn.init.ones_(self.l1)
        torch.nn.init.zeros_(self.b1)
        # torch_geometric means l2 = 1 / out_channels (its reset builds that tensor and drops it, leaving l2 unset).
        torch.nn.init.constant_(self.l2, 1.0 / self.out_channels)
        torch.nn.init.zeros_(self.b2)
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
            glorot(self.e)

    def forward(self, x: Tensor, edge_index: Union[Tensor, SparseIndex], edge_type: Optional[Tensor] = None,
                edge_attr: Optional[Tensor] = None, size: Optional[tuple[int, int]] = None,
                return_attention_weights: Optional[bool] = None):
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2:
            raise ValueError(f"x: expected node features [N, {self.in_channels}], got "
                             f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        check_width("x", x, self.in_channels)
        if size is not None and tuple(size) != (x.shape[0], x.shape[0]):
            raise ValueError(f"size: expected ({x.shape[0]}, {x.shape[0]}) (one node set), got {tuple(size)}")
        edge_index, edge_attr = edge_features_of(edge_index, edge_attr)
        index, _ = as_sparse_index(edge_index, x.shape[0], flow=self.flow)
        check_edge_types(edge_type, index.num_edges, self.num_relations)
        heads, chans, dim, relations = self.heads, self.out_channels, self.dim, self.num_relations
        src, dst, edge_type = index.src.long(), index.dst.long(), edge_type.long()
        # Every distinct (node, relation) pair an edge touches, at either end, transformed once.
        pair_key, pair_of = torch.unique(torch.cat([dst, src]) * relations + edge_type.repeat(2), return_inverse=True)
        pair_dst, pair_src = pair_of[:index.num_edges], pair_of[index.num_edges:]
        z = relation_product(x[pair_key // relations], pair_key % relations, self._relation_weight(),
                             self.num_blocks is not None)                                       # [P, H C]
        query, key = z @ self.q, z @ self.k                                                     # [P, H D]
        scores = self._scores(query[pair_dst], key[pair_src], edge_attr, index.num_edges)       # [E, H D]
        if self.attention_mechanism == "across-relation":
            alpha = segment_softmax(scores, index)
        else:
            alpha = segment_softmax(scores, SparseIndex.from_targets(pair_dst, pair_key.shape[0]))
        out = self._aggregate(index, alpha, z, pair_src, dst)
        out = out.reshape(index.num_dst, heads * dim * chans) if self.concat else \
            out.mean(dim=1).reshape(index.num_dst, dim * chans)
        if self.bias is not None:
            out = out + self.bias
        if isinstance(return_attention_weights, bool):
            return out, (index.edge_index.long(), alpha)
        return out

    def _relation_weight(self) -> Tensor:
        if self.num_bases is not None:
            return (self.att @ self.basis.view(self.num_bases, -1)).view(self.num_relations, self.in_channels, -1)
        return self.weight

    def _scores(self, query: Tensor, key: Tensor, edge_attr: Optional[Tensor], num_edges: int) -> Tensor:
        edge_term = None
        if edge_attr is not None:
            if self.lin_edge is None:
                raise ValueError("edge_attr: this RGATConv was built with edge_dim=None, so it takes no edge features")
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            if edge_attr.shape != (num_edges, self.edge_dim):
                raise ValueError(f"edge_attr: expected [{num_edges}, {self.edge_dim}] (one row per edge, edge_dim "
                                 f"features), got {list(edge_attr.shape)}")
            edge_term = tall_linear(self.lin_edge, edge_attr) @ self.e
        if self.attention_mode == MODES[0]:
            scores = query + key if edge_term is None else query + key + edge_term
            return F.leaky_relu(scores, self.negative_slope)
        return query * key if edge_term is None else query * key * edge_term

    def _aggregate(self, index: SparseIndex, alpha: Tensor, z: Tensor, pair_src: Tensor, dst: Tensor) -> Tensor:
        """``[N, H, D, C]``: the attention-weighted transformed sources summed into each target, with the mod's
        rescaling; one multi-head ``spmm`` from the source pairs (linear aggregations), else the messages."""
        heads, chans, dim = self.heads, self.out_channels, self.dim
        degree = index.in_degree().to(alpha.dtype)
        if self.mod == "f-additive":
            alpha = torch.where(alpha > 0, alpha + 1, alpha)
        elif self.mod == "f-scaled":
            alpha = alpha * degree[dst].unsqueeze(1)
        elif self.mod is None:
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        values = z.view(-1, heads, 1, chans).expand(-1, heads, dim, chans).reshape(-1, heads * dim, chans)
        pairs = SparseIndex(torch.stack([pair_src, dst]), num_nodes=(z.shape[0], index.num_dst))
        reductions = self.reductions
        gate = None
        if self.mod == "scaled":
            gate = self.activation(degree.unsqueeze(1) @ self.l1 + self.b1) @ self.l2 + self.b2          # [N, C]
        if reductions in (("sum",), ("mean",)) or (reductions is not None and self.mod != "additive"
                                                   and (gate is None or bool((gate >= 0).all()))):
            out = spmm(pairs, values, alpha, reductions[0])                                            # [N, H D, C]
            if self.mod == "additive":
                out = out + self.w * spmm(pairs, values, None, reductions[0])
            if gate is not None:
                out = out * gate.unsqueeze(1)
        else:
            messages = values[pair_src] * alpha.unsqueeze(-1)
            if self.mod == "additive":
                messages = messages + self.w * values[pair_src]
            if gate is not None:
                messages = messages * gate[dst].unsqueeze(1)
            out = self.aggregate_edges(messages, index)
        return out.view(index.num_dst, heads, dim, chans)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
