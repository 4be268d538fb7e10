import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm

from geomlearn.gnn import gcn_norm
from geomlearn.sparse import SparseIndex

from .layer_checks import small_graph


def test_matches_pyg_up_to_the_edge_order():
    # Same edges and weights as torch_geometric's gcn_norm; ours are sorted by target, theirs list the loops last.
    _, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(0))
    for fill in (1.0, 2.0):
        index, ours = gcn_norm(SparseIndex(edge_index, num_nodes=30), weight, fill=fill)
        their_index, theirs = pyg_gcn_norm(edge_index, weight, num_nodes=30, improved=fill == 2.0)
        resort = torch.argsort(their_index[1], stable=True)
        assert torch.equal(index.edge_index.long(), their_index[:, resort])
        torch.testing.assert_close(ours, theirs[resort])


def test_existing_loops_keep_their_weight_and_isolated_nodes_get_zero():
    # Node 0 has a loop of weight 3, node 1 an in-edge of weight 1, node 2 nothing at all (self loop only).
    index = SparseIndex(torch.tensor([[0, 0], [0, 1]]), num_nodes=3)
    looped, weight = gcn_norm(index, torch.tensor([3.0, 1.0]), normalize=False)
    assert looped.edge_index.tolist() == [[0, 0, 1, 2], [0, 1, 1, 2]]
    assert weight.tolist() == [3.0, 1.0, 1.0, 1.0]
    # Without loops, the source 0 of the edge 0 -> 1 has no incoming edge: its 1/sqrt(degree) is 0, not inf.
    _, normalised = gcn_norm(SparseIndex(torch.tensor([[0], [1]]), num_nodes=3), add_self_loops=False)
    assert normalised.tolist() == [0.0]


def test_gradient_flows_to_edge_weight():
    _, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], dtype=torch.float64, requires_grad=True)
    index = SparseIndex(edge_index, num_nodes=30)
    assert torch.autograd.gradcheck(lambda w: gcn_norm(index, w)[1], (weight,))
