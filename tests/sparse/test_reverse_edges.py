import torch

from geomlearn.sparse import SparseIndex, reverse_edges


def test_pairs_each_edge_with_its_reverse():
    edge_index = torch.tensor([[0, 1, 2, 1, 3, 2, 3], [1, 0, 1, 2, 2, 3, 3]])
    index = SparseIndex(edge_index, num_nodes=4)
    rev = reverse_edges(index)
    assert torch.equal(edge_index[:, rev], edge_index.flip(0))
    assert torch.equal(rev[rev], torch.arange(7))                 # an involution; the loop 3 -> 3 is its own
