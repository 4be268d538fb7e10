import networkx as nx
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from geomlearn.sparse import SparseIndex


def test_csr_and_csc_layouts_group_edges_stably():
    edge_index = torch.tensor([[2, 0, 1, 0, 2], [1, 1, 0, 2, 1]])
    index = SparseIndex(edge_index, num_nodes=3)
    csr, csc = index.csr(), index.csc()
    assert csr.ptr.tolist() == [0, 1, 4, 5]
    assert csr.eid.tolist() == [2, 0, 1, 4, 3]  # edges into 0, then into 1 (in input order), then into 2
    assert csr.idx.tolist() == [1, 2, 0, 2, 0]
    assert csc.ptr.tolist() == [0, 2, 3, 5]
    assert csc.eid.tolist() == [1, 3, 2, 0, 4]
    assert csc.idx.tolist() == [1, 2, 0, 1, 1]
    assert index.in_degree().tolist() == [1, 3, 1]
    assert index.out_degree().tolist() == [2, 1, 2]
    assert index.csr() is csr  # cached


def test_int32_where_it_fits_and_sizes():
    index = SparseIndex(torch.tensor([[0, 3], [1, 1]]), num_nodes=(4, 2))
    assert index.index_dtype == torch.int32
    assert index.edge_index.dtype == torch.int32
    assert index.shape == (2, 4) and index.num_edges == 2
    assert SparseIndex(torch.tensor([[0, 3], [1, 1]])).shape == (4, 4)  # inferred from the largest index
    assert SparseIndex(torch.empty(2, 0, dtype=torch.long)).shape == (0, 0)


def test_transpose_swaps_roles_and_layouts():
    index = SparseIndex(torch.tensor([[0, 0, 2], [1, 2, 1]]), num_nodes=(3, 4))
    index.csr()
    reverse = index.t()
    assert reverse.shape == (3, 4)
    assert torch.equal(reverse.edge_index, index.edge_index.flip(0))
    assert reverse.csc() is index.csr()
    assert torch.equal(reverse.csr().ptr, SparseIndex(reverse.edge_index, num_nodes=(4, 3)).csr().ptr)
    # cached both ways: the layout the transpose built is kept for the next call
    assert index.t() is reverse and reverse.t() is index and index.t().csr() is reverse.csr()
    assert index.to("cpu").t() is not reverse


def test_with_self_loops_replaces_loops_by_one_per_node_and_is_cached():
    index = SparseIndex(torch.tensor([[0, 1, 1, 2, 1], [1, 1, 2, 2, 1]]), num_nodes=4)
    looped, kept, order = index.with_self_loops()
    assert kept.tolist() == [True, False, True, False, False]
    # [0->1, 1->2, loops 0..3] sorted by target, stably: each target's loop after its other edges.
    assert looped.edge_index.tolist() == [[0, 0, 1, 1, 2, 3], [0, 1, 1, 2, 2, 3]]
    assert order.tolist() == [2, 0, 3, 1, 4, 5]
    assert torch.equal(looped.csr().eid.long(), torch.arange(6))          # sorted: the CSR is the identity
    assert looped.index_dtype == index.index_dtype
    assert index.with_self_loops()[0] is looped
    assert looped.with_self_loops()[0] is looped
    with pytest.raises(ValueError, match="with_self_loops: self loops need a square graph"):
        SparseIndex(torch.tensor([[0], [1]]), num_nodes=(1, 2)).with_self_loops()


def test_find_edges_by_endpoints():
    index = SparseIndex(torch.tensor([[0, 2, 1, 2], [1, 0, 2, 0]]), num_nodes=3)
    edge, found = index.find_edges(torch.tensor([1, 2, 0, 0]), torch.tensor([2, 0, 2, 1]))
    assert found.tolist() == [True, True, False, True]
    assert edge[0] == 2 and edge[1] in (1, 3) and edge[3] == 0
    keys, order = index.sorted_edge_keys()
    assert keys.tolist() == sorted(keys.tolist()) and index.sorted_edge_keys()[0] is keys
    reversed_edge, reversed_found = index.t().find_edges(torch.tensor([1]), torch.tensor([0]))
    assert reversed_found.tolist() == [True] and reversed_edge.tolist() == [0]     # t() keys its own edges
    empty = SparseIndex(torch.empty(2, 0, dtype=torch.long), num_nodes=3)
    assert empty.find_edges(torch.tensor([0]), torch.tensor([1]))[1].tolist() == [False]


def test_to_moves_cached_layouts():
    index = SparseIndex(torch.tensor([[0, 1], [1, 0]]))
    index.csr()
    moved = index.to("cpu")
    assert moved.device == torch.device("cpu") and moved._csr is not None


def test_from_networkx_directed_and_undirected():
    undirected = nx.Graph([("a", "b"), ("b", "c"), ("c", "c")])
    index = SparseIndex.from_networkx(undirected)
    pairs = set(map(tuple, index.edge_index.t().tolist()))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 2)} and index.num_edges == 5
    directed = SparseIndex.from_networkx(nx.DiGraph([(0, 1), (1, 2)]))
    assert directed.edge_index.tolist() == [[0, 1], [1, 2]]
    with pytest.raises(TypeError, match="graph: expected a networkx Graph"):
        SparseIndex.from_networkx([(0, 1)])


def test_from_scipy_and_data():
    matrix = sp.coo_matrix((torch.tensor([2.0, 3.0]).numpy(), ([0, 2], [1, 0])), shape=(3, 2))
    index, values = SparseIndex.from_scipy(matrix.tocsr())
    assert index.shape == (2, 3)
    assert sorted(zip(index.src.tolist(), index.dst.tolist(), values.tolist())) == [(0, 1, 2.0), (2, 0, 3.0)]
    with pytest.raises(TypeError, match="matrix: expected a scipy sparse matrix"):
        SparseIndex.from_scipy(torch.eye(2).numpy())
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=5)
    assert SparseIndex.from_data(data).shape == (5, 5)
    with pytest.raises(ValueError, match="data: expected a torch_geometric Data with an edge_index"):
        SparseIndex.from_data(Data(x=torch.ones(2, 1)))


def test_from_dgl_when_available():
    dgl = pytest.importorskip("dgl")
    graph = dgl.graph((torch.tensor([0, 1]), torch.tensor([1, 2])))
    index = SparseIndex.from_dgl(graph)
    assert index.edge_index.tolist() == [[0, 1], [1, 2]] and index.shape == (3, 3)


@pytest.mark.parametrize(
    "edge_index, num_nodes, error, message",
    [
        ([[0, 1], [1, 0]], None, TypeError, "edge_index: expected a torch.Tensor of shape"),
        (torch.tensor([[0.0, 1.0], [1.0, 0.0]]), None, TypeError, "edge_index: expected an integer dtype"),
        (torch.tensor([0, 1, 2]), None, ValueError, r"edge_index: expected shape \[2, E\], got \[3\]"),
        (torch.tensor([[0, 1], [1, 0], [0, 0]]), None, ValueError, r"edge_index: expected shape \[2, E\], got \[3, 2\]"),
        (torch.tensor([[0, -1], [1, 0]]), None, ValueError, r"edge_index: indices must be >= 0, got \[-1, 0\] at column 1"),
        (torch.tensor([[0, 1], [1, 5]]), 3, ValueError, "edge_index: target index 5 at column 1 is out of range for num_nodes=3"),
        (torch.tensor([[4, 1], [1, 0]]), (3, 6), ValueError, r"edge_index: source index 4 at column 0 is out of range for num_nodes=\(3, 6\)"),
        (torch.tensor([[0], [1]]), 2.5, TypeError, r"num_nodes: expected int sizes, got num_src=2.5"),
        (torch.tensor([[0], [1]]), True, TypeError, r"num_nodes: expected int sizes, got num_src=True"),
        (torch.tensor([[0], [1]]), -2, ValueError, r"num_nodes: sizes must be >= 0, got num_src=-2"),
        (torch.tensor([[0], [1]]), (2, 2, 2), ValueError, r"num_nodes: expected an int or a pair \(num_src, num_dst\)"),
    ],
)
def test_bad_input_is_rejected_with_a_named_argument(edge_index, num_nodes, error, message):
    with pytest.raises(error, match=message):
        SparseIndex(edge_index, num_nodes=num_nodes)
