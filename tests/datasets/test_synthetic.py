import pytest
import torch

from geomlearn.datasets import power_law_graph


def test_power_law_graph_sizes_range_and_determinism():
    data = power_law_graph(500, 20_000, seed=3)
    assert data.edge_index.shape == (2, 20_000) and data.num_nodes == 500
    assert int(data.edge_index.min()) >= 0 and int(data.edge_index.max()) < 500
    assert torch.equal(data.edge_index, power_law_graph(500, 20_000, seed=3).edge_index)


def test_power_law_in_degrees_are_skewed_and_uniform_without_exponent():
    skewed = torch.bincount(power_law_graph(1000, 100_000, exponent=1.0).edge_index[1], minlength=1000)
    flat = torch.bincount(power_law_graph(1000, 100_000, exponent=0.0).edge_index[1], minlength=1000)
    # With gamma = 1 the top node takes about 1 / H_1000 ~ 13 % of the edges; uniform gives ~0.1 %.
    assert skewed.max() > 0.08 * 100_000
    assert flat.max() < 0.01 * 100_000


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_nodes=0, num_edges=5), "num_nodes: expected an int >= 1, got 0"),
    (dict(num_nodes=5, num_edges=-1), "num_edges: expected an int >= 0, got -1"),
    (dict(num_nodes=5, num_edges=5, exponent=-1.0), "exponent: expected a number >= 0, got -1.0"),
])
def test_power_law_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        power_law_graph(**kwargs)
