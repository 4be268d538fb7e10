"""Heterogeneous graph transformer (Hu, Dong, Wang & Sun, WWW 2020)."""

from __future__ import annotations

import math
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..argument_checks import check_channels, check_int
from ..sparse import SparseIndex, gather_sum, sddmm, segment_matmul, segment_reduce, spmm
from .hetero_linear import HeteroDictLinear, HeteroLinear

EdgeType = tuple[str, str, str]


def relation_index(edge_type: EdgeType, graph: Union[Tensor, SparseIndex], num_nodes: dict[str, int]) -> SparseIndex:
    """One relation's graph as a ``SparseIndex`` from its source type's nodes to its target type's (a
    ``SparseIndex`` passed in is checked against the node counts and reused with its cached layouts)."""
    src, _, dst = edge_type
    shape = (num_nodes[src], num_nodes[dst])
    if isinstance(graph, SparseIndex):
        if (graph.num_src, graph.num_dst) != shape:
            raise ValueError(f"edge_index_dict[{edge_type}]: a SparseIndex of {graph.num_src} sources and "
                             f"{graph.num_dst} targets, where x_dict has {shape[0]} {src!r} and {shape[1]} {dst!r} "
                             f"nodes")
        return graph
    if not isinstance(graph, Tensor):
        raise TypeError(f"edge_index_dict[{edge_type}]: expected an edge_index tensor [2, E] or a SparseIndex, got "
                        f"{type(graph).__name__}")
    return SparseIndex(graph, num_nodes=shape)


def softmax_across_relations(scores: list[Tensor], indices: list[SparseIndex], values: list[Tensor]) -> Tensor:
    r"""``sum_r sum_{e in r} alpha_e v_{src(e)}`` with :math:`\alpha` the softmax of the edge scores over *all* the
    edges into a target, whatever their relation: per relation one segment max (the shift, treated as a constant,
    which the softmax is invariant to), one segment sum of the exponentials and one multi-head ``spmm``, with no
    concatenated graph.

    Args:
        scores: per relation ``[E_r, H]``.
        indices: per relation its graph, all with the same targets.
        values: per relation the source values ``[N_src_r, H, D]``.

    Returns:
        ``[N_dst, H, D]`` (zeros for a target without edges).
    """
    with torch.no_grad():
        maxima = [segment_reduce(s, index, "max").masked_fill((index.in_degree() == 0).unsqueeze(1), -math.inf)
                  for s, index in zip(scores, indices)]
        shift = torch.stack(maxima).amax(0)
        shift = shift.masked_fill(torch.isinf(shift), 0.0)
    total = out = None
    for s, index, v in zip(scores, indices, values):
        weight = torch.exp(s - gather_sum(index, shift, None))
        part, norm = spmm(index, v, weight), segment_reduce(weight, index, "sum")
        out, total = (part, norm) if out is None else (out + part, total + norm)
    return out / total.masked_fill(total == 0, 1.0).unsqueeze(-1)


class HGTConv(torch.nn.Module):
    r"""The heterogeneous graph transformer operator of `Hu et al. <https://arxiv.org/abs/2003.01332>`_. For a
    target :math:`i` of type :math:`\tau(i)` and each head :math:`h`,

    .. math::
        \alpha_{ji}^h = \operatorname{softmax}_{j \in \mathcal N(i)} \frac{\mu_{\phi(e), h}}{\sqrt{D}}
            \big(Q^h_{\tau(i)} x_i\big)^\top W^{\mathrm{att}}_{\phi(e), h} K^h_{\tau(j)} x_j, \qquad
        m_i = \big\Vert_h \sum_j \alpha_{ji}^h\, W^{\mathrm{msg}}_{\phi(e), h} V^h_{\tau(j)} x_j

    with the softmax over all incoming edges of every relation :math:`\phi(e)`, then
    :math:`x_i' = \beta\, A_{\tau(i)} \mathrm{GELU}(m_i) + (1 - \beta)\, x_i`, :math:`\beta = \sigma(s_{\tau(i)})`
    (the skip only where the widths agree).

    A drop-in for ``torch_geometric.nn.HGTConv`` (parameters ``kqv_lin``, ``out_lin``, ``k_rel``, ``v_rel``,
    ``skip``, ``p_rel``; its ``state_dict`` loads). How it runs:

    - the key / query / value maps of all node types are one :func:`~geomlearn.sparse.segment_matmul`, and the
      relation matrices :math:`W^{\mathrm{att}}, W^{\mathrm{msg}}` of all (relation, head) pairs another, over the
      source nodes of every relation stacked;
    - per relation, the scores are one multi-head :func:`~geomlearn.sparse.sddmm` and the messages one
      multi-head :func:`~geomlearn.sparse.spmm`; the softmax across relations adds per-relation segment sums
      (:func:`softmax_across_relations`). No ``[E, H, D]`` tensor and no concatenated graph is formed.

    ``edge_index_dict`` values may be ``SparseIndex`` objects built once: their layouts are then reused every call.

    Args:
        in_channels: input size of every node type, or ``{node type: size}``.
        out_channels: output size ``H * D``.
        metadata: ``(node types, edge types)``, as ``HeteroData.metadata()`` gives.
        heads: number of heads ``H`` (dividing ``out_channels``).

    Shapes:
        - input: ``x_dict {node type: [N_t, in_t]}``, ``edge_index_dict {(src, rel, dst): [2, E] or SparseIndex}``
        - output: ``{node type: [N_t, out_channels]}`` for the node types that are a target of some relation of
          ``metadata`` (and appear in ``x_dict``)
    """

    def __init__(self, in_channels: Union[int, dict[str, int]], out_channels: int,
                 metadata: tuple[list[str], list[EdgeType]], heads: int = 1, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"HGTConv: unexpected keyword arguments {sorted(kwargs)}")
        check_channels("out_channels", out_channels)
        check_int("heads", heads)
        if out_channels % heads:
            raise ValueError(f"out_channels: expected a multiple of heads={heads}, got {out_channels}")
        if not isinstance(metadata, (tuple, list)) or len(metadata) != 2:
            raise ValueError(f"metadata: expected (node types, edge types), got {metadata!r}")
        node_types, edge_types = list(metadata[0]), [tuple(e) for e in metadata[1]]
        missing = sorted({t for e in edge_types for t in (e[0], e[2])} - set(node_types))
        if missing:
            raise ValueError(f"metadata: edge types name node types {missing} that are not among {node_types}")
        if not isinstance(in_channels, dict):
            in_channels = {t: in_channels for t in node_types}
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.node_types, self.edge_types = node_types, edge_types
        self.edge_types_map = {e: i for i, e in enumerate(edge_types)}
        self.dst_node_types = {e[-1] for e in edge_types}
        self.kqv_lin = HeteroDictLinear(in_channels, 3 * out_channels)
        self.out_lin = HeteroDictLinear(out_channels, out_channels, types=node_types)
        dim = out_channels // heads
        self.k_rel = HeteroLinear(dim, dim, heads * len(edge_types), bias=False, is_sorted=True)
        self.v_rel = HeteroLinear(dim, dim, heads * len(edge_types), bias=False, is_sorted=True)
        self.skip = torch.nn.ParameterDict({t: torch.nn.Parameter(torch.empty(1)) for t in node_types})
        self.p_rel = torch.nn.ParameterDict({"__".join(e): torch.nn.Parameter(torch.empty(1, heads))
                                             for e in edge_types})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.kqv_lin.reset_parameters()
        self.out_lin.reset_parameters()
        self.k_rel.reset_parameters()
        self.v_rel.reset_parameters()
        for parameter in (*self.skip.values(), *self.p_rel.values()):
            torch.nn.init.ones_(parameter)

    def forward(self, x_dict: dict[str, Tensor],
                edge_index_dict: dict[EdgeType, Union[Tensor, SparseIndex]]) -> dict[str, Tensor]:
        heads, dim = self.heads, self.out_channels // self.heads
        unknown = [e for e in edge_index_dict if tuple(e) not in self.edge_types_map]
        if unknown:
            raise KeyError(f"edge_index_dict: edge types {unknown} are not in the metadata {self.edge_types}")
        relations = [e for e in self.edge_types if e in edge_index_dict]
        absent = sorted({t for e in relations for t in (e[0], e[2]) if t not in x_dict})
        if absent:
            raise KeyError(f"x_dict: no features for node types {absent}, which edge_index_dict's relations join")
        num_nodes = {t: x.shape[0] for t, x in x_dict.items()}
        indices = [relation_index(e, edge_index_dict[e], num_nodes) for e in relations]

        kqv = self.kqv_lin(x_dict)
        key, query, value = {}, {}, {}
        for t, rows in kqv.items():
            k, q, v = torch.tensor_split(rows, 3, dim=1)
            key[t], query[t], value[t] = k.view(-1, heads, dim), q.view(-1, heads, dim), v.view(-1, heads, dim)
        keys, values = self._relation_transforms(relations, key, value)

        out_dict = {}
        for t in (t for t in x_dict if t in self.dst_node_types):
            into = [r for r, e in enumerate(relations) if e[2] == t]
            if into:
                scale = [self.p_rel["__".join(relations[r])] / math.sqrt(dim) for r in into]
                scores = [sddmm(indices[r], query[t], keys[r]) * s for r, s in zip(into, scale)]
                out = softmax_across_relations(scores, [indices[r] for r in into], [values[r] for r in into])
            else:
                out = query[t].new_zeros(num_nodes[t], heads, dim)
            out_dict[t] = F.gelu(out.reshape(-1, self.out_channels))
        out_dict = self.out_lin(out_dict)
        for t, out in out_dict.items():
            if out.shape[-1] == x_dict[t].shape[-1]:
                gate = self.skip[t].sigmoid()
                out_dict[t] = gate * out + (1 - gate) * x_dict[t]
        return out_dict

    def _relation_transforms(self, relations: list[EdgeType], key: dict[str, Tensor],
                             value: dict[str, Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Each relation's keys and values of its source nodes times that relation's per-head matrices: the source
        rows of every relation stacked head-major and multiplied by one ``segment_matmul``, keys and values
        together."""
        if not relations:
            return [], []
        heads, dim = self.heads, self.out_channels // self.heads
        sizes = [key[e[0]].shape[0] for e in relations]
        stacked = [torch.cat([table[e[0]] for e in relations]).transpose(0, 1) for table in (key, value)]   # [H, S, D]
        rows = torch.cat(stacked).reshape(-1, dim)                                                     # [2 H S, D]
        groups = [h * len(self.edge_types) + self.edge_types_map[e] for h in range(heads) for e in relations]
        weight = torch.cat([self.k_rel.weight[groups], self.v_rel.weight[groups]])
        counts = torch.tensor(sizes * (2 * heads), device=rows.device)
        ptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        out = segment_matmul(rows, ptr, weight).view(2, heads, -1, dim).transpose(1, 2)              # [2, S, H, D]
        keys = list(out[0].contiguous().split(sizes))
        values = list(out[1].contiguous().split(sizes))
        return keys, values

    def __repr__(self) -> str:
        return f"{type(self).__name__}(-1, {self.out_channels}, heads={self.heads})"
