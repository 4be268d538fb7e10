"""Checks every message-passing layer's tests share: equality with torch_geometric's layer of the same
name (with the same weights, for each kind of graph input), permutation equivariance, and clear errors."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.data import Data

from geomlearn.gnn import gcn_norm
from geomlearn.sparse import SparseIndex


def small_graph(num_nodes: int = 30, num_edges: int = 160, seed: int = 0, in_channels: int = 12):
    """``(x, edge_index)``: random features and a random directed graph with self loops and duplicates."""
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    edge_index[:, :5] = torch.arange(5).repeat(2, 1)        # a few self loops
    edge_index[:, 5:8] = edge_index[:, 8:11]                # a few duplicates
    x = torch.randn(num_nodes, in_channels, generator=g)
    return x, edge_index


def edge_features(edge_index: torch.Tensor, width: int = 3) -> torch.Tensor:
    """Random ``[E, width]`` edge features."""
    return torch.randn(edge_index.shape[1], width, generator=torch.Generator().manual_seed(2))


def bipartite(sizes=(9, 4), widths=(5, 3), edges: int = 25):
    """``((x_src, x_dst), edge_index)``: random features of two node sets and random edges between them."""
    g = torch.Generator().manual_seed(5)
    x = (torch.randn(sizes[0], widths[0], generator=g), torch.randn(sizes[1], widths[1], generator=g))
    edge_index = torch.stack([torch.randint(0, sizes[0], (edges,), generator=g),
                              torch.randint(0, sizes[1], (edges,), generator=g)])
    return x, edge_index


def dense_normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``D^-1/2 (A + I) D^-1/2`` as a dense float64 ``[N, N]`` matrix (row = target), from ``gcn_norm``."""
    index, weight = gcn_norm(SparseIndex(edge_index, num_nodes=num_nodes), dtype=torch.float64)
    return torch.zeros(num_nodes, num_nodes, dtype=torch.float64).index_put_((index.dst.long(), index.src.long()),
                                                                             weight, accumulate=True)


def graph_inputs(edge_index: torch.Tensor, num_nodes: int) -> dict:
    """The three graph inputs a layer accepts, all for the same graph."""
    return {
        "edge_index": edge_index,
        "SparseIndex": SparseIndex(edge_index, num_nodes=num_nodes),
        "Data": Data(edge_index=edge_index, num_nodes=num_nodes),
    }


def assert_matches_pyg(ours: torch.nn.Module, theirs: torch.nn.Module, x, edge_index, *args, atol=1e-5,
                       sparse: bool = True) -> None:
    """``ours`` loads ``theirs``'s state dict and gives the same outputs and input gradients for every graph
    input kind (train mode off, so dropout is off); ``sparse=False`` leaves out the ``torch.sparse`` adjacency, for
    layers whose torch_geometric version cannot take one."""
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()
    num_nodes = (x[0] if isinstance(x, tuple) else x).shape[0]
    features = x if isinstance(x, tuple) else (x,)
    expected_inputs = [f.clone().requires_grad_() for f in features]
    expected = theirs(expected_inputs[0] if len(features) == 1 else tuple(expected_inputs), edge_index, *args)
    expected.square().sum().backward()
    graphs = graph_inputs(edge_index, num_nodes) if not isinstance(x, tuple) else {"edge_index": edge_index}
    if sparse and not args and not isinstance(x, tuple):
        # torch_geometric's transposed sparse adjacency with unit values (which a layer taking weights reads).
        # It holds the distinct edges, made symmetric and loop-free: on a sparse adjacency torch_geometric's
        # gcn_norm takes degrees over sources and adds a second loop where one exists (a known difference).
        both_ways = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        distinct = torch.unique(both_ways[:, both_ways[0] != both_ways[1]], dim=1)
        adj_t = torch.sparse_coo_tensor(distinct.flip(0), torch.ones(distinct.shape[1]), (num_nodes, num_nodes),
                                        check_invariants=True).coalesce()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")             # torch_geometric's notes on converting to CSR
            expected_sparse = theirs(x, adj_t)
        torch.testing.assert_close(ours(x, adj_t), expected_sparse, atol=atol, rtol=1e-5, msg=lambda m: f"adj_t: {m}")
    for kind, graph in graphs.items():
        inputs = [f.clone().requires_grad_() for f in features]
        out = ours(inputs[0] if len(features) == 1 else tuple(inputs), graph, *args)
        torch.testing.assert_close(out, expected, atol=atol, rtol=1e-5, msg=lambda m: f"{kind}: {m}")
        out.square().sum().backward()
        for mine, reference in zip(inputs, expected_inputs):
            torch.testing.assert_close(mine.grad, reference.grad, atol=atol * 10, rtol=1e-4, msg=lambda m: f"{kind} grad: {m}")


def assert_permutation_equivariant(layer: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor, *edge_args,
                                   atol: float = 1e-5) -> None:
    """Relabelling the nodes by a permutation relabels the outputs the same way."""
    layer.eval()
    num_nodes = x.shape[0]
    perm = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(3))
    new_label = torch.empty_like(perm)
    new_label[perm] = torch.arange(num_nodes)
    out = layer(x, edge_index, *edge_args)
    out_permuted = layer(x[perm], new_label[edge_index], *edge_args)
    torch.testing.assert_close(out_permuted, out[perm], atol=atol, rtol=1e-5)


def assert_rejects_bad_graphs(layer: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor,
                              width: bool = True) -> None:
    """Feature/graph size mismatch, out-of-range indices and (where the layer has an input size, ``width``) features
    of another width raise errors that name the argument."""
    num_nodes = x.shape[0]
    if width:
        wider = torch.cat([x, x[:, :1]], dim=1)
        message = rf"x: expected {x.shape[1]} features in the last dimension \(in_channels\), got shape "
        with pytest.raises(ValueError, match=message + rf"\[{num_nodes}, {x.shape[1] + 1}\]"):
            layer(wider, edge_index)
    with pytest.raises(ValueError, match="x: the graph has"):
        layer(x, SparseIndex(edge_index, num_nodes=num_nodes + 3))
    out_of_range = edge_index.clone()
    out_of_range[1, 4] = num_nodes + 7
    with pytest.raises(ValueError, match="edge_index: target index"):
        layer(x, out_of_range)
    with pytest.raises(TypeError, match="edge_index: expected an edge_index tensor"):
        layer(x, edge_index.tolist())
