import re

import networkx as nx
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from geomlearn.sparse import SparseIndex

from .backends import BACKENDS


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
    # Bipartite: loops join the first min(num_src, num_dst) nodes, as torch_geometric's GATConv adds them.
    bipartite, _, _ = SparseIndex(torch.tensor([[0, 2], [1, 0]]), num_nodes=(3, 2)).with_self_loops()
    assert (bipartite.num_src, bipartite.num_dst) == (3, 2)
    assert sorted(map(tuple, bipartite.edge_index.t().tolist())) == [(0, 0), (0, 1), (1, 1), (2, 0)]


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


def test_the_index_keeps_its_own_copy_of_the_edges():
    edges = torch.tensor([[0, 1, 2], [1, 2, 0]], dtype=torch.int32)
    index = SparseIndex(edges, num_nodes=3)
    edges[0, 0] = 2                          # the caller's tensor, edited after construction
    assert index.edge_index.tolist() == [[0, 1, 2], [1, 2, 0]]
    assert index.edge_index.data_ptr() != edges.data_ptr()


@pytest.mark.parametrize("edit", [
    "edge_index", "src", "csr", "csc", "edge_keys", "self_loops", "reverse", "transpose_layout", "moved"])
def test_an_in_place_edit_of_an_index_tensor_is_refused_at_the_next_use(edit):
    from geomlearn.sparse import IndexModifiedError, reverse_edges, spmm

    index = SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    x = torch.randn(3, 4)
    before = spmm(index, x)
    target = {
        "edge_index": lambda: index.edge_index,
        "src": lambda: index.src,
        "csr": lambda: index.csr().idx,
        "csc": lambda: index.csc().ptr,
        "edge_keys": lambda: index.sorted_edge_keys()[0],
        "self_loops": lambda: index.with_self_loops()[2],
        "reverse": lambda: reverse_edges(index),
        "transpose_layout": lambda: index.t().csr().eid,
        "moved": lambda: index.to("cpu").csr().idx,
    }[edit]()
    owner = {"moved": index.to("cpu"), "transpose_layout": index.t()}.get(edit, index)
    if edit == "moved":                     # a moved index owns copies: it checks its own
        target = owner.csr().idx
    target.add_(0)                          # any in-place op bumps the version, even one that changes nothing
    with pytest.raises(IndexModifiedError, match=r"SparseIndex: its .* tensor was modified in place"):
        spmm(owner, x)
    with pytest.raises(IndexModifiedError):
        owner.edge_index
    assert torch.equal(spmm(SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3), x), before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_behind_the_version_counter_give_an_error_not_a_wild_read(backend):
    from tests.isolated import outcomes

    results = outcomes(f"""
        import torch
        from geomlearn.sparse import SparseIndex, spmm, sddmm, segment_softmax, gather_sum, block_spmm, \\
            reverse_block_product, coupling_spmm, use_backend
        from tests.sparse.test_coupling_spmm import random_couplings, random_inputs

        use_backend("{backend}").__enter__()       # the whole child runs on this backend

        def fresh():
            return SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]], dtype=torch.int32), num_nodes=3)

        x = torch.randn(3, 4)

        def issue_example():              # the caller's own int32 tensor, edited after construction
            ei = torch.tensor([[0, 1], [1, 0]], dtype=torch.int32)
            i = SparseIndex(ei, 2)
            ei[0, 0] = 10**8
            y = torch.tensor([[1.0], [2.0]])
            return spmm(i, y).tolist()

        def edge_index_data(op):
            i = fresh()
            i.edge_index.data[0, 0] = 10**8          # .data bypasses the version counter
            return op(i)

        def layout_numpy(part, position, value, op, grad=False):
            i = fresh()
            i.csr(), i.csc()
            getattr(i.csr(), part).numpy()[position] = value
            return op(i)

        def reverse_data():
            i = fresh()
            from geomlearn.sparse import reverse_edges
            reverse_edges(i).data[0] = 10**6
            return reverse_block_product(i, torch.randn(4, 2, 2)).shape[0]

        def couplings_edit(kind):
            c = random_couplings()
            i = SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
            a, b, w = random_inputs(i)
            if kind == "version":
                c.by_out[0, 0] = 10**6
            else:
                c.by_out.data[3, 0] = 10**6
            return coupling_spmm(i, c, a, b, w).shape[0]

        def coupling_backward_src():
            c = random_couplings()
            i = fresh()
            a, b, w = (t.requires_grad_() for t in random_inputs(i))
            i.csr(), i.csc()
            out = coupling_spmm(i, c, a, b, w)
            i.edge_index.data[0, 1] = 10**8
            out.sum().backward()
            return 0

        outcome("issue example", issue_example)
        outcome("spmm sum after .data", lambda: edge_index_data(lambda i: spmm(i, x).shape[0]))
        outcome("spmm max after .data", lambda: edge_index_data(lambda i: spmm(i, x, reduce="max").shape[0]))
        outcome("gather_sum after .data", lambda: edge_index_data(lambda i: gather_sum(i, None, x).shape[0]))
        outcome("csr idx", lambda: layout_numpy("idx", 0, 10**8, lambda i: spmm(i, x).shape[0]))
        outcome("csr idx negative", lambda: layout_numpy("idx", 1, -5, lambda i: sddmm(i, x, x).shape[0]))
        outcome("csr eid", lambda: layout_numpy("eid", 0, 10**8, lambda i: segment_softmax(torch.randn(4), i).shape[0]))
        outcome("csr ptr", lambda: layout_numpy("ptr", 1, 10**6, lambda i: block_spmm(
            i, torch.randn(4, 2, 2), torch.randn(3, 2, 5)).shape[0]))
        outcome("csr eid weighted", lambda: layout_numpy("eid", 2, 10**8, lambda i: spmm(i, x, torch.rand(4)).shape[0]))
        outcome("reverse", reverse_data)
        outcome("couplings version", lambda: couplings_edit("version"))
        outcome("couplings data", lambda: couplings_edit("data"))
        outcome("coupling backward", coupling_backward_src)
    """)
    assert results["issue example"] == ("ok", [[2.0], [1.0]])       # the graph validated, not the edited one
    expected = {"spmm sum after .data": "spmm: .* idx \\(entries outside 0..2\\)",
                "spmm max after .data": "spmm: .* idx \\(entries outside 0..2\\)",
                "csr idx": "spmm: .* idx \\(entries outside 0..2\\)",
                "csr idx negative": "sddmm: .* idx \\(entries outside 0..2\\)",
                "csr eid": "segment_softmax: .* eid \\(entries outside 0..3\\)",
                "csr ptr": "block_spmm: .* ptr \\(row bounds outside 0..4 or falling\\)",
                "csr eid weighted": "spmm: .* eid \\(entries outside 0..3\\)",
                "reverse": "reverse_block_product: .* rev \\(entries outside 0..3\\)",
                "coupling backward": "coupling_spmm backward: .* src \\(entries outside 0..2\\)"}
    for case, pattern in expected.items():
        kind, message = results[case]
        assert kind == "IndexModifiedError" and re.search(pattern + ".*nothing was read", message), (case, message)
    assert results["gather_sum after .data"][0] == "IndexError"        # torch's own bounds-checked gather
    assert results["couplings version"][0] == "IndexModifiedError"
    assert "Couplings: its by_out tensor was modified" in results["couplings version"][1]
    kind, message = results["couplings data"]
    assert kind == "IndexModifiedError" and "a table position lies outside the sizes" in message


def test_find_edges_checks_its_queries():
    index = SparseIndex(torch.tensor([[0, 2], [1, 0]]), num_nodes=(3, 2))
    with pytest.raises(ValueError, match=r"src: expected node ids in 0..2, got values in 0..3"):
        index.find_edges(torch.tensor([0, 3]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"dst: expected node ids in 0..1, got values in -1..1"):
        index.find_edges(torch.tensor([0, 1]), torch.tensor([1, -1]))
    with pytest.raises(TypeError, match="dst: expected an integer tensor"):
        index.find_edges(torch.tensor([0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"dst: expected shape \[Q\] .* got \[2\]"):
        index.find_edges(torch.tensor([0]), torch.tensor([1, 0]))


def test_edge_keys_are_exact_up_to_their_range_and_refused_past_it():
    n = 3_000_000_000                        # n * n < 2**63: keys fit, and the old int32 product would not
    index = SparseIndex(torch.tensor([[n - 1, 5, n - 2], [n - 2, n - 1, 0]]), num_nodes=n)
    edge, found = index.find_edges(torch.tensor([n - 1, n - 2, 5, 5]), torch.tensor([n - 2, n - 1, n - 1, n - 2]))
    assert found.tolist() == [True, False, True, False] and edge[0] == 0 and edge[2] == 1
    huge = SparseIndex(torch.tensor([[0, 1], [1, 0]]), num_nodes=2**32)
    with pytest.raises(ValueError, match=r"index: edge keys .* need num_src \* num_dst <= 2\*\*63"):
        huge.find_edges(torch.tensor([0]), torch.tensor([1]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_more_edges_than_int32_keeps_int64_positions_and_int32_node_ids(monkeypatch, backend):
    # A graph past 2**31 edges does not fit this machine: the threshold is lowered to 20 to take the same path.
    import geomlearn.sparse.index as module
    from geomlearn.sparse import sddmm, segment_softmax, spmm
    from geomlearn.sparse import reference as ref

    from .backends import running_on

    monkeypatch.setattr(module, "_INT32_MAX", 20)
    g = torch.Generator().manual_seed(0)
    edges = torch.randint(0, 6, (2, 40), generator=g)
    index = SparseIndex(edges, num_nodes=6)
    assert index.index_dtype == torch.int32 and index.position_dtype == torch.int64
    ptr, idx, eid = index.csr()
    assert (ptr.dtype, idx.dtype, eid.dtype) == (torch.int64, torch.int32, torch.int64)
    x = torch.randn(6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    scores = torch.randn(40, dtype=torch.float64, generator=g)
    with running_on(backend):
        for reduce in ("sum", "max"):
            out = spmm(index, x, reduce=reduce)
            torch.testing.assert_close(out, ref.spmm(index, x, None, reduce))
            (grad,) = torch.autograd.grad(out.sum(), x)
            torch.testing.assert_close(grad, torch.autograd.grad(ref.spmm(index, x, None, reduce).sum(), x)[0])
        torch.testing.assert_close(sddmm(index, x, x), ref.sddmm(index, x, x))
        torch.testing.assert_close(segment_softmax(scores, index), ref.segment_softmax(scores, index))


def test_from_sorted_keeps_a_sorted_edge_index_as_it_is_and_checks_it():
    from geomlearn.sparse import spmm

    edges = torch.tensor([[1, 2, 0, 2, 1], [0, 0, 1, 2, 2]], dtype=torch.int32)
    index = SparseIndex.from_sorted(edges, 3)
    assert index.edge_index.data_ptr() == edges.data_ptr()                 # no copy
    assert index.csr().ptr.tolist() == [0, 2, 3, 5]
    x = torch.randn(3, 4)
    torch.testing.assert_close(spmm(index, x), spmm(SparseIndex(edges, num_nodes=3), x))
    with pytest.raises(ValueError, match=r"edge_index: expected targets in non-decreasing order .* got 2 then 0 at "
                                         r"column 3"):
        SparseIndex.from_sorted(torch.tensor([[0, 1, 2, 0], [1, 2, 2, 0]]), 3)
    with pytest.raises(ValueError, match=r"edge_index: indices must be < num_nodes=2, got 2"):
        SparseIndex.from_sorted(edges, 2)
    with pytest.raises(ValueError, match=r"edge_index: indices must be >= 0"):
        SparseIndex.from_sorted(torch.tensor([[-1], [0]]), 2)
