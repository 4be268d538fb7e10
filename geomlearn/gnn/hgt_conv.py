"""Heterogeneous graph transformer (Hu, Dong, Wang & Sun, WWW 2020)."""

from __future__ import annotations

import math
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..argument_checks import check_channels, check_int
from ..sparse import SparseIndex, sddmm, segment_matmul, segment_softmax, spmm
from ..sparse.graph_input import adjacency_edges, is_sparse_adjacency
from .hetero_linear import HeteroDictLinear, HeteroLinear

def relation_index(edge_type: tuple[str, str, str], graph: Union[Tensor, SparseIndex],
                   num_nodes: dict[str, int]) -> SparseIndex:
    """One relation's graph as a ``SparseIndex`` from its source type's nodes to its target type's (a
    ``SparseIndex`` passed in is checked against the node counts and reused with its cached layouts; a
    ``torch.sparse`` adjacency is read as torch_geometric's ``adj_t``, ``[N_dst, N_src]``)."""
    src, _, dst = edge_type
    shape = (num_nodes[src], num_nodes[dst])
    if is_sparse_adjacency(graph):                      # torch_geometric's adj_t: [N_dst, N_src]
        graph = adjacency_edges(graph)[0]
    if isinstance(graph, SparseIndex):
        if (graph.num_src, graph.num_dst) != shape:
            raise ValueError(f"edge_index_dict[{edge_type}]: a SparseIndex of {graph.num_src} sources and "
                             f"{graph.num_dst} targets, where x_dict has {shape[0]} {src!r} and {shape[1]} {dst!r} "
                             f"nodes")
        return graph
    if not isinstance(graph, Tensor):
        raise TypeError(f"edge_index_dict[{edge_type}]: expected an edge_index tensor [2, E], a torch.sparse adjacency "
                        f"or a SparseIndex, got "
                        f"{type(graph).__name__}")
    return SparseIndex(graph, num_nodes=shape)


def merged_relations(indices: list[SparseIndex], offsets: list[int], num_sources: int) -> SparseIndex:
    """The relations into one target type as one graph: relation ``r``'s source ``j`` becomes source
    ``offsets[r] + j`` of the stacked sources (``num_sources`` in all), the targets stay."""
    edge_index = torch.cat([index.edge_index.long() + torch.tensor([[offset], [0]], device=index.device)
                            for index, offset in zip(indices, offsets)], dim=1)
    return SparseIndex(edge_index, num_nodes=(num_sources, indices[0].num_dst))


class MergedGraphCache:
    """Per target type, the merged graph of the last relations seen, reused while the very same ``SparseIndex``
    objects (immutable) come back; a ``deepcopy`` or a pickle of the layer starts empty."""

    def __init__(self):
        self.entries: dict[str, tuple[tuple, SparseIndex]] = {}

    def get(self, target: str, graphs: tuple, build) -> SparseIndex:
        cached = self.entries.get(target)
        if cached is not None and len(cached[0]) == len(graphs) and all(a is b for a, b in zip(cached[0], graphs)):
            return cached[1]
        merged = build()
        if all(isinstance(graph, SparseIndex) for graph in graphs):
            self.entries[target] = (graphs, merged)
        return merged

    def __deepcopy__(self, memo) -> "MergedGraphCache":
        return MergedGraphCache()

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.entries = {}


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
      source nodes of every relation stacked by target type (the prior :math:`\mu / \sqrt{D}` folded into
      :math:`W^{\mathrm{att}}`);
    - per target type, the relations into it are one merged graph over those stacked sources: the scores are one
      multi-head :func:`~geomlearn.sparse.sddmm`, normalised across all relations by one
      :func:`~geomlearn.sparse.segment_softmax`, and the messages one multi-head :func:`~geomlearn.sparse.spmm`.
      No ``[E, H, D]`` tensor is formed.

    ``edge_index_dict`` values may be ``SparseIndex`` objects built once: the merged graphs are then built on the
    first call and reused while the same objects come back.

    Args:
        in_channels: input size of every node type, or ``{node type: size}``; -1 for lazy initialisation.
        out_channels: output size ``H * D``.
        metadata: ``(node types, edge types)``, as ``HeteroData.metadata()`` gives.
        heads: number of heads ``H`` (dividing ``out_channels``).

    Shapes:
        - input: ``x_dict {node type: [N_t, in_t]}``, ``edge_index_dict {(src, rel, dst): [2, E] or SparseIndex}``
        - output: ``{node type: [N_t, out_channels]}`` for the node types that are a target of some relation of
          ``metadata`` (and appear in ``x_dict``)
    """

    def __init__(self, in_channels: Union[int, dict[str, int]], out_channels: int,
                 metadata: tuple[list[str], list[tuple[str, str, str]]], heads: int = 1, **kwargs):
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
        self._merged = MergedGraphCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.kqv_lin.reset_parameters()
        self.out_lin.reset_parameters()
        self.k_rel.reset_parameters()
        self.v_rel.reset_parameters()
        for parameter in (*self.skip.values(), *self.p_rel.values()):
            torch.nn.init.ones_(parameter)

    def forward(self, x_dict: dict[str, Tensor],
                edge_index_dict: dict[tuple[str, str, str], Union[Tensor, SparseIndex]]) -> dict[str, Tensor]:
        heads, dim = self.heads, self.out_channels // self.heads
        unknown = [e for e in edge_index_dict if tuple(e) not in self.edge_types_map]
        if unknown:
            raise KeyError(f"edge_index_dict: edge types {unknown} are not in the metadata {self.edge_types}")
        targets = [t for t in x_dict if t in self.dst_node_types]
        present = [e for e in self.edge_types if e in edge_index_dict]
        absent = sorted({t for e in present for t in (e[0], e[2]) if t not in x_dict})
        if absent:
            raise KeyError(f"x_dict: no features for node types {absent}, which edge_index_dict's relations join")
        relations = [e for t in targets for e in present if e[2] == t]           # grouped by target type
        num_nodes = {t: x.shape[0] for t, x in x_dict.items()}
        graphs = {e: edge_index_dict[e] for e in relations}
        indices = {e: relation_index(e, graphs[e], num_nodes) for e in relations}

        kqv = self.kqv_lin(x_dict)
        key, query, value = {}, {}, {}
        for t, rows in kqv.items():
            k, q, v = torch.tensor_split(rows, 3, dim=1)
            key[t], query[t], value[t] = k.view(-1, heads, dim), q.view(-1, heads, dim), v.view(-1, heads, dim)
        keys, values = self._relation_transforms(relations, key, value)

        out_dict, start = {}, 0
        for t in targets:
            into = [e for e in relations if e[2] == t]
            if into:
                sizes = [num_nodes[e[0]] for e in into]
                offsets = [sum(sizes[:r]) for r in range(len(into))]
                merged = self._merged.get(t, tuple(graphs[e] for e in into), lambda: merged_relations(
                    [indices[e] for e in into], offsets, sum(sizes)))
                stop = start + sum(sizes)
                alpha = segment_softmax(sddmm(merged, query[t], keys[start:stop]), merged)       # [E_t, H]
                out = spmm(merged, values[start:stop], alpha)                                     # [N_t, H, D]
                start = stop
            else:
                out = query[t].new_zeros(num_nodes[t], heads, dim)
            out_dict[t] = F.gelu(out.reshape(-1, self.out_channels))
        out_dict = self.out_lin(out_dict)
        for t, out in out_dict.items():
            if out.shape[-1] == x_dict[t].shape[-1]:
                gate = self.skip[t].sigmoid()
                out_dict[t] = gate * out + (1 - gate) * x_dict[t]
        return out_dict

    def _relation_transforms(self, relations: list[tuple[str, str, str]], key: dict[str, Tensor],
                             value: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        r"""The keys and values of every relation's source nodes times that relation's per-head matrices, stacked in
        the order of ``relations`` (``[S, H, D]`` each): one ``segment_matmul`` over the rows stacked head-major, keys
        and values together, with each key matrix scaled by its relation's prior over :math:`\sqrt{D}`."""
        heads, dim = self.heads, self.out_channels // self.heads
        if not relations:
            empty = next(iter(key.values())).new_zeros(0, heads, dim)
            return empty, empty
        sizes = [key[e[0]].shape[0] for e in relations]
        stacked = [torch.cat([table[e[0]] for e in relations]).transpose(0, 1) for table in (key, value)]   # [H, S, D]
        rows = torch.cat(stacked).reshape(-1, dim)                                                     # [2 H S, D]
        groups = [h * len(self.edge_types) + self.edge_types_map[e] for h in range(heads) for e in relations]
        prior = torch.stack([self.p_rel["__".join(e)][0, h] for h in range(heads) for e in relations])
        key_weight = self.k_rel.weight[groups] * (prior / math.sqrt(dim)).view(-1, 1, 1)
        weight = torch.cat([key_weight, self.v_rel.weight[groups]])
        counts = torch.tensor(sizes * (2 * heads), device=rows.device)
        ptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        out = segment_matmul(rows, ptr, weight).view(2, heads, -1, dim).transpose(1, 2)              # [2, S, H, D]
        return out[0].contiguous(), out[1].contiguous()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(-1, {self.out_channels}, heads={self.heads})"
