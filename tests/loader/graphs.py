"""A small graph with node and edge attributes, for the loader tests."""

import torch
from torch_geometric.data import Data


def attributed_graph(num_nodes: int = 60, num_edges: int = 400, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    return Data(x=torch.randn(num_nodes, 5, generator=g), y=torch.randint(0, 3, (num_nodes,), generator=g),
                edge_index=edge_index, edge_attr=torch.randn(num_edges, 2, generator=g),
                train_mask=torch.rand(num_nodes, generator=g) < 0.5, num_nodes=num_nodes)


def assert_batch_is_the_sampled_subgraph(data: Data, batch: Data) -> None:
    """The fields torch_geometric's loaders give, checked against the full graph: gathered node and edge attributes,
    local edges that name global ones, per-hop counts that add up."""
    n_id, e_id = batch.n_id, batch.e_id
    assert torch.equal(batch.x, data.x[n_id]) and torch.equal(batch.y, data.y[n_id])
    assert torch.equal(batch.train_mask, data.train_mask[n_id])
    assert torch.equal(n_id[batch.edge_index], data.edge_index[:, e_id])
    assert torch.equal(batch.edge_attr, data.edge_attr[e_id])
    assert batch.num_nodes == len(n_id) and len(set(n_id.tolist())) == len(n_id)
    if "num_sampled_nodes" in batch:                             # torch-sparse's sampler (a peer) gives none
        assert sum(batch.num_sampled_nodes) == len(n_id) and sum(batch.num_sampled_edges) == batch.num_edges
    for block in batch.get("hops", []):                         # the blocks are prefixes of the batch's edges
        assert torch.equal(block.edge_index.long(), batch.edge_index[:, : block.num_edges])
