import torch
from torch_geometric.loader import NodeLoader

from geomlearn.loader import NeighborSampler

from .graphs import assert_batch_is_the_sampled_subgraph, attributed_graph


def test_torch_geometrics_node_loader_runs_on_it():
    data = attributed_graph()
    sampler = NeighborSampler(data, [4, 2])
    batches = list(NodeLoader(data, node_sampler=sampler, batch_size=16))
    for batch in batches:
        assert_batch_is_the_sampled_subgraph(data, batch)
    assert sorted(torch.cat([b.n_id[: b.batch_size] for b in batches]).tolist()) == list(range(data.num_nodes))
