"""Graph-level readouts (global_*_pool, Set2Set) against torch_geometric's and against the per-graph reductions."""

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import Set2Set, global_add_pool, global_max_pool, global_mean_pool

POOLS = {"add": (global_add_pool, pyg.global_add_pool), "mean": (global_mean_pool, pyg.global_mean_pool),
         "max": (global_max_pool, pyg.global_max_pool)}


def batched(sizes=(4, 0, 7, 1, 3), width=5, shuffle=False):
    g = torch.Generator().manual_seed(0)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    if shuffle:
        batch = batch[torch.randperm(batch.numel(), generator=g)]
    return torch.randn(batch.numel(), width, generator=g), batch


@pytest.mark.parametrize("name", list(POOLS))
@pytest.mark.parametrize("shuffle", [False, True])
def test_pools_match_pyg_and_the_per_graph_reduction(name, shuffle):
    ours, theirs = POOLS[name]
    x, batch = batched(shuffle=shuffle)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = ours(x_ours, batch), theirs(x_theirs, batch)
    torch.testing.assert_close(out, expected)
    reduce = {"add": lambda rows: rows.sum(0), "mean": lambda rows: rows.mean(0), "max": lambda rows: rows.max(0)[0]}
    for graph in range(5):
        rows = x[batch == graph]
        torch.testing.assert_close(out[graph], reduce[name](rows) if len(rows) else torch.zeros(5))
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)
    # size: more graphs than batch names (trailing empty graphs), and no batch at all (one graph)
    torch.testing.assert_close(ours(x, batch, 8), theirs(x, batch, 8))
    torch.testing.assert_close(ours(x, None), theirs(x, None))
    torch.testing.assert_close(ours(x[:, 0], None), theirs(x[:, 0], None))


def test_pool_errors():
    x, batch = batched()
    with pytest.raises(ValueError, match=r"batch: expected the graph of each of the 15 rows of x, a \[15\] tensor"):
        global_add_pool(x, batch[:-1])
    with pytest.raises(ValueError, match=r"batch: graph ids must lie in \[0, 3\) for size=3, got ids in \[0, 4\]"):
        global_mean_pool(x, batch, 3)
    with pytest.raises(ValueError, match="size: expected the number of graphs"):
        global_max_pool(x, batch, -1)


@pytest.mark.parametrize("options", [dict(processing_steps=1), dict(processing_steps=3),
                                     dict(processing_steps=2, num_layers=2)])
def test_set2set_matches_pyg(options):
    x, batch = batched(sizes=(4, 2, 7, 1, 3), shuffle=True)
    ours, theirs = Set2Set(5, **options), pyg.Set2Set(5, **options)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = ours(x_ours, batch), theirs(x_theirs, batch)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)
    torch.testing.assert_close(ours(x, batch, dim_size=7), theirs(x, batch, dim_size=7))   # trailing empty sets
    with pytest.raises(ValueError, match="index: Set2Set needs the set of each row"):
        ours(x)


def test_set2set_is_a_permutation_invariant_attention_readout():
    """Permuting the rows within the batch leaves every set's readout unchanged; the readout's second half is a
    convex combination of the set's rows."""
    x, batch = batched(sizes=(4, 2, 7), width=3)
    readout = Set2Set(3, processing_steps=2)
    perm = torch.randperm(13, generator=torch.Generator().manual_seed(1))
    out = readout(x, batch)
    torch.testing.assert_close(readout(x[perm], batch[perm]), out)
    for graph in range(3):
        rows = x[batch == graph]
        lower, upper = rows.min(0)[0], rows.max(0)[0]
        assert bool(((out[graph, 3:] >= lower - 1e-6) & (out[graph, 3:] <= upper + 1e-6)).all())
    with pytest.raises(ValueError, match=r"x: expected 3 features in the last dimension"):
        readout(torch.randn(13, 4), batch)
