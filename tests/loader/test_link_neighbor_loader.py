import torch
from torch_geometric.sampler import NegativeSampling

from geomlearn.gnn import NCNPredictor
from geomlearn.loader import LinkNeighborLoader
from geomlearn.sparse import SparseIndex

from .graphs import assert_batch_is_the_sampled_subgraph, attributed_graph


def test_binary_negatives_and_the_links_in_local_ids():
    data = attributed_graph()
    links = data.edge_index[:, :40]
    loader = LinkNeighborLoader(data, [3, 2], edge_label_index=links, batch_size=10, neg_sampling_ratio=1.0,
                                shuffle=True)
    seen = []
    for batch in loader:
        assert_batch_is_the_sampled_subgraph(data, batch)
        positives = batch.edge_label == 1
        assert int(positives.sum()) == len(batch.input_id) and int((~positives).sum()) == len(batch.input_id)
        assert torch.equal(batch.n_id[batch.edge_label_index[:, positives]], links[:, batch.input_id])
        ends = batch.edge_label_index.unique()
        assert bool((ends < batch.num_sampled_nodes[0]).all())          # every end is a seed of the sample
        seen += batch.input_id.tolist()
    assert sorted(seen) == list(range(40))


def test_triplet_negatives():
    data = attributed_graph(seed=1)
    loader = LinkNeighborLoader(data, [2], edge_label_index=data.edge_index[:, :12], batch_size=4,
                                neg_sampling=NegativeSampling("triplet", amount=2))
    batch = next(iter(loader))
    assert_batch_is_the_sampled_subgraph(data, batch)
    assert batch.dst_neg_index.shape == (4, 2)
    assert torch.equal(torch.stack([batch.n_id[batch.src_index], batch.n_id[batch.dst_pos_index]]),
                       data.edge_index[:, batch.input_id])


def test_with_every_neighbour_drawn_a_batch_gives_ncn_the_common_neighbours_of_the_whole_graph():
    data = attributed_graph(seed=2)
    full = SparseIndex.from_data(data)
    ncn = NCNPredictor(5, 8)
    loader = LinkNeighborLoader(data, [-1], edge_label_index=data.edge_index[:, :30], batch_size=10,
                                neg_sampling_ratio=2.0)
    for batch in loader:
        pairs = batch.edge_label_index
        sampled = ncn.common_neighbor_sum(batch.x, SparseIndex(batch.edge_index, num_nodes=batch.num_nodes), pairs)
        torch.testing.assert_close(sampled, ncn.common_neighbor_sum(data.x, full, batch.n_id[pairs]))
