import pytest
import torch
from torch_geometric.data import HeteroData

from geomlearn.gnn import SAGEConv
from geomlearn.loader import NeighborLoader
from geomlearn.sparse import SparseIndex, spmm

from .graphs import assert_batch_is_the_sampled_subgraph, attributed_graph


def test_batches_hold_torch_geometrics_fields_and_cover_the_input_nodes_once():
    data = attributed_graph()
    input_nodes = data.train_mask
    loader = NeighborLoader(data, [4, 3], input_nodes=input_nodes, batch_size=7, shuffle=True)
    seen = []
    for batch in loader:
        assert_batch_is_the_sampled_subgraph(data, batch)
        assert batch.batch_size == len(batch.input_id) <= 7
        assert torch.equal(batch.n_id[: batch.batch_size], batch.input_id)   # a mask's input ids are its nodes
        assert batch.num_sampled_nodes[0] == batch.batch_size and len(batch.num_sampled_edges) == 2
        seen += batch.n_id[: batch.batch_size].tolist()
    assert sorted(seen) == input_nodes.nonzero()[:, 0].tolist()


def test_the_same_torch_seed_gives_the_same_batches():
    data = attributed_graph(seed=1)
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append([(b.n_id, b.e_id) for b in NeighborLoader(data, [3, 2], batch_size=10, shuffle=True)])
    for (n1, e1), (n2, e2) in zip(*runs):
        assert torch.equal(n1, n2) and torch.equal(e1, e2)


def test_the_blocks_run_a_trimmed_model_that_equals_the_full_batch_on_the_seeds():
    data = attributed_graph(seed=2)
    batch = next(iter(NeighborLoader(data, [5, 5], batch_size=6)))
    torch.manual_seed(0)
    first, second = SAGEConv(5, 8), SAGEConv(8, 3)
    full = SparseIndex(batch.edge_index, num_nodes=batch.num_nodes)
    expected = second(first(batch.x, full).relu(), full)[: batch.batch_size]
    x = batch.x
    for conv, block in zip((first, second), reversed(batch.hops)):   # hops[-1] for the first layer
        x = conv((x, x[: block.num_dst]), block)
        x = x.relu() if conv is first else x
    torch.testing.assert_close(x, expected)
    originals = list(batch.hops)
    moved = batch.to("cpu")                                          # Data.to carries the blocks along
    assert all(isinstance(h, SparseIndex) and h is not o and torch.equal(h.edge_index, o.edge_index)
               for h, o in zip(moved.hops, originals))


def test_workers_map_the_shared_graph_and_give_the_same_seeds():
    spmm(SparseIndex(torch.tensor([[0, 1], [1, 0]]), num_nodes=2), torch.randn(2, 3))   # OpenMP threads run here
    data = attributed_graph(seed=3)
    loader = NeighborLoader(data, [3, 3], batch_size=12, num_workers=2)
    assert loader.node_sampler.index.edge_index.is_shared() and loader.multiprocessing_context is not None
    batches = list(loader)
    for batch in batches:
        assert_batch_is_the_sampled_subgraph(data, batch)
    assert sorted(torch.cat([b.n_id[: b.batch_size] for b in batches]).tolist()) == list(range(data.num_nodes))


@pytest.mark.parametrize("options, error, message", [
    ({"disjoint": True}, NotImplementedError, r"disjoint: only False is supported"),
    ({"subgraph_type": "induced"}, NotImplementedError, r"subgraph_type: only 'directional' is supported"),
    ({"time_attr": "time"}, NotImplementedError, r"time_attr: only None is supported"),
    ({"input_time": torch.zeros(3)}, NotImplementedError, r"input_time: temporal sampling"),
    ({"num_neighbors": [2, -5]}, ValueError, r"num_neighbors: expected a non-empty list of ints"),
    ({"weight_attr": "weight"}, ValueError, r"weight_attr: data has no attribute 'weight'"),
])
def test_options_it_does_not_support_are_refused_by_name(options, error, message):
    options = {"num_neighbors": [2], **options}
    with pytest.raises(error, match=message):
        NeighborLoader(attributed_graph(), batch_size=4, **options)


def test_heterogeneous_graphs_are_refused_by_name():
    with pytest.raises(TypeError, match=r"data: expected a homogeneous torch_geometric Data, got HeteroData"):
        NeighborLoader(HeteroData(), [2], batch_size=4)


def test_weighted_sampling_never_draws_an_edge_of_weight_zero():
    data = attributed_graph(seed=4)
    data.weight = (torch.arange(data.num_edges) % 2).double()           # odd edges only
    for batch in NeighborLoader(data, [4, 4], batch_size=16, weight_attr="weight"):
        assert bool((batch.e_id % 2 == 1).all())


def test_torch_geometrics_loader_gives_the_same_subgraph_where_it_runs():
    pytest.importorskip("torch_geometric")
    import torch_geometric.typing as typing
    if not (typing.WITH_PYG_LIB or typing.WITH_TORCH_SPARSE):
        pytest.skip("torch_geometric's NeighborLoader needs pyg-lib or torch-sparse, neither is installed")
    from torch_geometric.loader import NeighborLoader as PyGNeighborLoader

    data = attributed_graph(seed=5)
    ours = next(iter(NeighborLoader(data, [-1, -1], batch_size=5)))          # all neighbours: no randomness
    theirs = next(iter(PyGNeighborLoader(data, [-1, -1], batch_size=5)))
    assert set(theirs.keys()) <= set(ours.keys())          # torch-sparse's sampler gives no per-hop counts
    for key in theirs.keys():
        mine, reference = ours[key], theirs[key]
        if isinstance(reference, torch.Tensor) and key not in ("n_id", "e_id", "edge_index", "x", "y", "edge_attr",
                                                                  "train_mask"):
            assert torch.equal(mine, reference), key
    assert torch.equal(ours.n_id[: ours.batch_size], theirs.n_id[: theirs.batch_size])        # the seeds, first
    assert torch.equal(ours.n_id.sort().values, theirs.n_id.sort().values)
    assert torch.equal(ours.e_id.sort().values, theirs.e_id.sort().values)
    for batch in (ours, theirs):                                                        # the same global edges
        assert_batch_is_the_sampled_subgraph(data, batch)
    if "num_sampled_nodes" in theirs:
        assert ours.num_sampled_nodes == theirs.num_sampled_nodes
        assert ours.num_sampled_edges == theirs.num_sampled_edges
