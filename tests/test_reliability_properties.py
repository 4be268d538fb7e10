"""Property-based checks of the promise that geomlearn never crashes and never returns a silently wrong number.

Hypothesis throws random graphs (empty ones, isolated nodes, self loops, duplicate edges, bipartite ones), NaN
and infinite values, wrong dtypes, wrong shapes and in-place edits of an index at the public sparse ops and the
torch_geometric drop-in layers. Every call must end in one of two ways:

* on valid input, the result of the plain-torch reference (:mod:`geomlearn.sparse.reference`, or torch_geometric
  for a layer), NaN where the reference has NaN;
* on invalid input, a ``TypeError`` / ``ValueError`` whose message starts with the argument's name, or, for an
  index edited after it was built, :class:`~geomlearn.sparse.IndexModifiedError`.

Edits that bypass torch's version counter (``.data``, ``.numpy()``) reach the compiled kernels, so that property
runs in a separate process: a segfault fails the test instead of ending the run. Examples are derandomised, so CI
sees the same ones each run.
"""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomlearn.sparse import (Couplings, IndexModifiedError, SparseIndex, block_spmm, coupling_spmm, gather_sum,
                              householder_orthogonal, pair_neighbors, reverse_block_product, sddmm, segment_matmul,
                              segment_reduce, segment_softmax, segment_tree_reduce, spmm)
from geomlearn.sparse import reference as ref

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMED = re.compile(r"^[A-Za-z_][\w.]*(, [A-Za-z_]\w*)*: ")          # "x: expected ...", "a, b: ..."
SPECIAL = (float("nan"), float("inf"), float("-inf"))


@st.composite
def graphs(draw, square: bool = False, max_nodes: int = 9, max_edges: int = 30) -> SparseIndex:
    """A random index: sizes from 0, edges drawn with repeats (duplicates, self loops on square graphs)."""
    num_src = draw(st.integers(0, max_nodes))
    num_dst = num_src if square else draw(st.integers(0, max_nodes))
    count = draw(st.integers(0, max_edges)) if num_src and num_dst else 0
    src = draw(st.lists(st.integers(0, max(num_src - 1, 0)), min_size=count, max_size=count))
    dst = draw(st.lists(st.integers(0, max(num_dst - 1, 0)), min_size=count, max_size=count))
    dtype = draw(st.sampled_from([torch.int64, torch.int32]))
    edges = torch.tensor([src, dst], dtype=dtype).reshape(2, count)
    return SparseIndex(edges, num_nodes=(num_src, num_dst))


@st.composite
def values(draw, shape: tuple[int, ...], dtype=torch.float64) -> torch.Tensor:
    """Normal values with NaN / inf planted at drawn positions (none, some, or many)."""
    seed = draw(st.integers(0, 2**31 - 1))
    out = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    if out.numel():
        for _ in range(draw(st.integers(0, 3))):
            position = draw(st.integers(0, out.numel() - 1))
            out.view(-1)[position] = draw(st.sampled_from(SPECIAL))
    return out


def assert_same(ours: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(ours, expected, equal_nan=True, rtol=1e-9, atol=1e-9)


def assert_named(error: Exception) -> None:
    assert isinstance(error, (TypeError, ValueError)), f"{type(error).__name__}: {error}"
    assert NAMED.match(str(error)), f"the message names no argument: {error}"


# ------------------------------------------------------------------------------------------- valid input
@PROPERTY
@given(data=st.data(), reduce=st.sampled_from(["sum", "mean", "max", "min"]), heads=st.sampled_from([0, 1, 3]))
def test_spmm_and_segment_reduce_equal_the_reference_with_nan_and_inf(data, reduce, heads):
    index = data.draw(graphs())
    x = data.draw(values((index.num_src, max(heads, 1), 2)))
    weight = None if heads == 0 else data.draw(values((index.num_edges, heads)))
    x = x.squeeze(1) if heads == 0 else x
    assert_same(spmm(index, x, weight, reduce), ref.spmm(index, x, weight, reduce))
    per_edge = data.draw(values((index.num_edges, 3)))
    assert_same(segment_reduce(per_edge, index, reduce), ref.segment_reduce(per_edge, index, reduce))


@PROPERTY
@given(data=st.data())
def test_attention_ops_equal_the_reference_with_nan_and_inf(data):
    index = data.draw(graphs())
    a = data.draw(values((index.num_dst, 2, 3)))
    b = data.draw(values((index.num_src, 2, 3)))
    assert_same(sddmm(index, a, b), ref.sddmm(index, a, b))
    assert_same(gather_sum(index, a[:, :, 0], b[:, :, 0]), ref.gather_sum(index, a[:, :, 0], b[:, :, 0]))
    assert_same(gather_sum(index, None, b), ref.gather_sum(index, None, b))
    scores = data.draw(values((index.num_edges, 2)))
    assert_same(segment_softmax(scores, index), ref.segment_softmax(scores, index))


@PROPERTY
@given(data=st.data(), d=st.integers(1, 3))
def test_block_ops_equal_the_reference(data, d):
    index = data.draw(graphs())
    blocks = data.draw(values((index.num_edges, d, d)))
    x = data.draw(values((index.num_src, d, 2)))
    assert_same(block_spmm(index, blocks, x), ref.block_spmm(index, blocks, x))
    edges = data.draw(graphs(square=True))
    symmetric = SparseIndex(torch.cat([edges.edge_index, edges.edge_index.flip(0)], dim=1).unique(dim=1),
                            num_nodes=edges.num_dst)
    maps = data.draw(values((symmetric.num_edges, d, d)))
    assert_same(reverse_block_product(symmetric, maps), ref.reverse_block_product(symmetric, maps))


@PROPERTY
@given(data=st.data(), sizes=st.lists(st.integers(0, 4), min_size=1, max_size=4))
def test_segment_matmul_equals_the_reference(data, sizes):
    ptr = torch.tensor([0] + sizes).cumsum(0)
    x = data.draw(values((int(ptr[-1]), 3)))
    weight = data.draw(values((len(sizes), 3, 2)))
    assert_same(segment_matmul(x, ptr, weight), ref.segment_matmul(x, ptr, weight))


@PROPERTY
@given(data=st.data(), count=st.integers(0, 12))
def test_coupling_spmm_equals_the_reference(data, count):
    index = data.draw(graphs())
    sizes = tuple(data.draw(st.integers(1, 3)) for _ in range(4))
    columns = [torch.tensor(data.draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count)),
                            dtype=torch.int64) for size in sizes]
    couplings = Couplings(*columns, data.draw(values((count,))), sizes)
    x = data.draw(values((index.num_src, 2, sizes[0])))
    y = data.draw(values((index.num_edges, sizes[1])))
    w = data.draw(values((index.num_edges, sizes[2], 2)))
    assert_same(coupling_spmm(index, couplings, x, y, w), ref.coupling_spmm(index, couplings, x, y, w))


@PROPERTY
@given(data=st.data())
def test_find_edges_answers_as_a_dense_adjacency_does(data):
    index = data.draw(graphs())
    queries = data.draw(st.integers(0, 10)) if index.num_src and index.num_dst else 0
    src = torch.tensor(data.draw(st.lists(st.integers(0, max(index.num_src - 1, 0)), min_size=queries,
                                          max_size=queries)), dtype=torch.int64)
    dst = torch.tensor(data.draw(st.lists(st.integers(0, max(index.num_dst - 1, 0)), min_size=queries,
                                          max_size=queries)), dtype=torch.int64)
    edge, found = index.find_edges(src, dst)
    existing = {(int(s), int(t)) for s, t in index.edge_index.t()}
    assert found.tolist() == [(int(s), int(t)) in existing for s, t in zip(src, dst)]
    for q in found.nonzero()[:, 0].tolist():
        assert (int(index.src[edge[q]]), int(index.dst[edge[q]])) == (int(src[q]), int(dst[q]))


@PROPERTY
@given(data=st.data(), d=st.integers(1, 5))
def test_householder_product_equals_lapacks_and_marks_non_finite_parameters(data, d):
    params = data.draw(values((data.draw(st.integers(0, 6)), d * (d - 1) // 2)))
    out = householder_orthogonal(params, d)
    finite = torch.isfinite(params).all(dim=1)
    assert_same(out[finite], ref.householder_orthogonal(params[finite], d))
    # LAPACK itself gives a block of finite and NaN entries for an infinite reflector entry; none is right, and
    # the block must not look like an orthogonal matrix: it holds a NaN.
    assert bool(out[~finite].isnan().flatten(1).any(dim=1).all())


@PROPERTY
@given(data=st.data())
def test_tree_reduction_of_an_associative_operator_equals_the_segment_reduction(data):
    index = data.draw(graphs())
    per_edge = data.draw(values((index.num_edges, 2)))
    assert_same(segment_tree_reduce(per_edge, index, torch.maximum), ref.segment_reduce(per_edge, index, "max"))


@PROPERTY
@given(data=st.data())
def test_pair_neighbors_answer_as_a_dense_adjacency_does(data):
    index = data.draw(graphs(square=True))
    if index.num_dst == 0:
        return
    count = data.draw(st.integers(0, 6))
    pairs = torch.tensor(data.draw(st.lists(st.lists(st.integers(0, index.num_dst - 1), min_size=2, max_size=2),
                                            min_size=count, max_size=count)), dtype=torch.int64).reshape(-1, 2).t()
    result = pair_neighbors(index, pairs)
    neighbours = [set() for _ in range(index.num_dst)]
    for j, i in index.edge_index.t().tolist():
        neighbours[i].add(j)
    expected = [(p, u, u in neighbours[b]) for p, (a, b) in enumerate(pairs.t().tolist()) for u in sorted(neighbours[a])]
    assert list(zip(result.pair.tolist(), result.node.tolist(), result.shared.tolist())) == expected


# ----------------------------------------------------------------------------------------- invalid input
def _call_with(op: str, index: SparseIndex, bad: str, dtype: torch.dtype, extra_rows: int):
    """One public op on otherwise valid input, with the argument ``bad`` given the dtype ``dtype`` and
    ``extra_rows`` rows too many."""
    def make(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        if name != bad:
            return torch.randn(shape, dtype=torch.float64)
        shape = (shape[0] + extra_rows, *shape[1:])
        return torch.randint(0, 3, shape).to(dtype) if not dtype.is_floating_point else torch.randn(shape).to(dtype)

    n_src, n_dst, edges = index.num_src, index.num_dst, index.num_edges
    calls = {
        "spmm": lambda: spmm(index, make("x", (n_src, 4)), make("weight", (edges,)), "max"),
        "sddmm": lambda: sddmm(index, make("a", (n_dst, 4)), make("b", (n_src, 4))),
        "gather_sum": lambda: gather_sum(index, make("a", (n_dst, 2)), make("b", (n_src, 2))),
        "segment_softmax": lambda: segment_softmax(make("scores", (edges, 2)), index),
        "segment_reduce": lambda: segment_reduce(make("values", (edges, 2)), index, "mean"),
        "block_spmm": lambda: block_spmm(index, make("blocks", (edges, 2, 2)), make("x", (n_src, 2, 3))),
    }
    return calls[op]()


ARGUMENTS = {"spmm": ["x", "weight"], "sddmm": ["a", "b"], "gather_sum": ["a", "b"], "segment_softmax": ["scores"],
             "segment_reduce": ["values"], "block_spmm": ["blocks", "x"]}


@PROPERTY
@given(data=st.data(), op=st.sampled_from(sorted(ARGUMENTS)),
       dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.bool, torch.float32]),
       extra_rows=st.sampled_from([0, 1, 3]))
def test_a_wrong_dtype_or_row_count_is_a_named_error(data, op, dtype, extra_rows):
    index = data.draw(graphs())
    bad = data.draw(st.sampled_from(ARGUMENTS[op]))
    if dtype == torch.float32 and extra_rows == 0:
        extra_rows = 1                               # float32 beside float64 is an error too, but keep one flaw
    with pytest.raises((TypeError, ValueError)) as caught:
        _call_with(op, index, bad, dtype, extra_rows)
    assert_named(caught.value)
    assert str(caught.value).startswith(f"{bad}:") or str(caught.value).startswith(("x:", "weight:", "b:"))


@PROPERTY
@given(data=st.data(), part=st.sampled_from(["edge_index", "csr", "csc", "keys"]),
       op=st.sampled_from(["spmm", "sddmm", "segment_softmax", "block_spmm", "find_edges"]))
def test_an_in_place_edit_of_an_index_is_refused_whatever_the_op(data, part, op):
    index = data.draw(graphs(square=True))
    tensor = {"edge_index": lambda: index.edge_index, "csr": lambda: index.csr().idx, "csc": lambda: index.csc().eid,
              "keys": lambda: index.sorted_edge_keys()[1]}[part]()
    tensor.mul_(1)                                    # bumps the version counter, changes no value
    call = {"spmm": lambda: spmm(index, torch.randn(index.num_src, 2)),
            "sddmm": lambda: sddmm(index, torch.randn(index.num_dst, 2), torch.randn(index.num_src, 2)),
            "segment_softmax": lambda: segment_softmax(torch.randn(index.num_edges), index),
            "block_spmm": lambda: block_spmm(index, torch.randn(index.num_edges, 2, 2), torch.randn(index.num_src, 2, 1)),
            "find_edges": lambda: index.find_edges(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))}
    with pytest.raises(IndexModifiedError, match=r"SparseIndex: its .* tensor was modified in place"):
        call[op]()


def test_writes_behind_the_version_counter_never_crash_the_process():
    from tests.isolated import run_isolated

    # In a fresh process: random indices written through .numpy() (out of range or not, negative or not) into
    # every layout the CPU kernels read, then every kernel that reads it. The child reports how each call ended.
    outcomes = run_isolated("""
        import json, torch
        from hypothesis import given, settings, strategies as st
        from geomlearn.sparse import (IndexModifiedError, SparseIndex, block_spmm, reverse_edges,
                                      reverse_block_product, sddmm, segment_softmax, spmm)

        ended = {"result": 0, "IndexModifiedError": 0, "IndexError": 0}

        @settings(max_examples=60, deadline=None, derandomize=True)
        @given(st.data())
        def run(data):
            n = data.draw(st.integers(1, 6))
            e = data.draw(st.integers(1, 20))
            src = data.draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e))
            dst = data.draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e))
            index = SparseIndex(torch.tensor([src + dst, dst + src]), num_nodes=n)   # symmetric
            index.csr(), index.csc()
            part = data.draw(st.sampled_from(["ptr", "idx", "eid", "tidx", "teid", "reverse"]))
            if part == "reverse":
                try:
                    target = reverse_edges(index)
                except ValueError:                       # duplicates: no reverse pairing, nothing to edit
                    return
            else:
                layout = index.csc() if part.startswith("t") else index.csr()
                target = getattr(layout, part.lstrip("t"))
            position = data.draw(st.integers(0, target.numel() - 1))
            target.numpy()[position] = data.draw(st.sampled_from([-1, -10**6, n, 10**8, 0]))
            x = torch.randn(n, 3, requires_grad=True)
            calls = [lambda: spmm(index, x).sum().backward(), lambda: spmm(index, x, reduce="max").sum().backward(),
                     lambda: sddmm(index, x, x).sum().backward(),
                     lambda: segment_softmax(torch.randn(index.num_edges), index),
                     lambda: block_spmm(index, torch.randn(index.num_edges, 2, 2), torch.randn(n, 2, 2)),
                     lambda: reverse_block_product(index, torch.randn(index.num_edges, 2, 2))]
            for call in calls:
                try:
                    call()
                    ended["result"] += 1
                except IndexModifiedError:
                    ended["IndexModifiedError"] += 1
                except IndexError:
                    ended["IndexError"] += 1
                except ValueError as err:              # reverse_block_product on a graph with duplicates
                    assert str(err).startswith("index: edge"), err
                    ended["result"] += 1

        run()
        print(json.dumps(ended), flush=True)
    """)
    (ended,) = outcomes
    assert ended["IndexModifiedError"] > 0 and sum(ended.values()) > 100


# ------------------------------------------------------------------------------------------------ layers
@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data(), layer=st.sampled_from(["GCNConv", "SAGEConv", "GATConv"]))
def test_drop_in_layers_equal_torch_geometric_on_random_graphs(data, layer):
    import torch_geometric.nn as pyg

    from geomlearn import gnn

    index = data.draw(graphs(square=True, max_nodes=8))
    if index.num_src == 0:
        return
    x = data.draw(values((index.num_src, 5), dtype=torch.float32))
    torch.manual_seed(0)
    theirs = getattr(pyg, layer)(5, 3)
    ours = getattr(gnn, layer)(5, 3)
    ours.load_state_dict(theirs.state_dict())
    edge_index = index.edge_index.long()
    torch.testing.assert_close(ours(x, edge_index), theirs(x, edge_index), equal_nan=True, atol=1e-5, rtol=1e-4)
