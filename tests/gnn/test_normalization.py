import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm

from geomlearn.gnn import gcn_norm
from geomlearn.gnn.normalization import symmetric_normalization
from geomlearn.sparse import SparseIndex

from .layer_checks import small_graph


@pytest.mark.parametrize("improved", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("flow", ["source_to_target", "target_to_source"])
def test_edge_index_gives_torch_geometric_s_edges_weights_and_order(improved, weighted, flow):
    _, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(0)) if weighted else None
    ours = gcn_norm(edge_index, weight, 30, improved=improved, flow=flow)
    theirs = pyg_gcn_norm(edge_index, weight, 30, improved=improved, flow=flow)
    assert torch.equal(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1])


def test_a_sparse_index_gives_the_same_graph_sorted_by_target():
    _, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(0))
    index, ours = gcn_norm(SparseIndex(edge_index, num_nodes=30), weight, improved=True)
    their_index, theirs = pyg_gcn_norm(edge_index, weight, num_nodes=30, improved=True)
    resort = torch.argsort(their_index[1], stable=True)
    assert torch.equal(index.edge_index.long(), their_index[:, resort])
    torch.testing.assert_close(ours, theirs[resort])


@pytest.mark.parametrize("layout", [torch.sparse_coo, torch.sparse_csr])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_sparse_adjacency_comes_back_normalised_in_its_layout(layout, requires_grad):
    # A symmetric graph without loops, where torch_geometric's sparse path agrees with its edge_index path.
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    weight = torch.rand(6, requires_grad=requires_grad)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), weight, (4, 4), check_invariants=True).coalesce()
    if layout == torch.sparse_csr:
        adj_t = adj_t.to_sparse_csr()
    normalised, none = gcn_norm(adj_t)
    assert none is None and normalised.layout == layout and normalised.requires_grad == requires_grad
    expected_index, expected = pyg_gcn_norm(edge_index, weight.detach(), 4)
    dense = torch.zeros(4, 4).index_put_((expected_index[1], expected_index[0]), expected, accumulate=True)
    torch.testing.assert_close(normalised.to_dense().detach(), dense)
    with pytest.raises(NotImplementedError, match="CSC"):
        gcn_norm(adj_t.to_sparse_csc())


def test_existing_loops_keep_their_weight_and_isolated_nodes_get_zero():
    # Node 0 has a loop of weight 3, node 1 an in-edge of weight 1, node 2 nothing at all (self loop only).
    index = SparseIndex(torch.tensor([[0, 0], [0, 1]]), num_nodes=3)
    looped, weight = symmetric_normalization(index, torch.tensor([3.0, 1.0]))
    assert looped.edge_index.tolist() == [[0, 0, 1, 2], [0, 1, 1, 2]]
    degree = torch.tensor([3.0, 2.0, 1.0])
    expected = torch.tensor([3.0, 1.0, 1.0, 1.0]) / (degree[[0, 0, 1, 2]] * degree[[0, 1, 1, 2]]).sqrt()
    torch.testing.assert_close(weight, expected)
    # Without loops, the source 0 of the edge 0 -> 1 has no incoming edge: its 1/sqrt(degree) is 0, not inf.
    _, normalised = symmetric_normalization(SparseIndex(torch.tensor([[0], [1]]), num_nodes=3), add_self_loops=False)
    assert normalised.tolist() == [0.0]
    with pytest.raises(ValueError, match="index: the normalisation needs one node set"):
        symmetric_normalization(SparseIndex(torch.tensor([[0], [1]]), num_nodes=(1, 2)))


def test_gradient_flows_to_edge_weight():
    _, edge_index = small_graph()
    weight = torch.rand(edge_index.shape[1], dtype=torch.float64, requires_grad=True)
    index = SparseIndex(edge_index, num_nodes=30)
    assert torch.autograd.gradcheck(lambda w: gcn_norm(index, w)[1], (weight,))
