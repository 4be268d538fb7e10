import pytest
import torch

from geomlearn.datasets import power_law_graph, stochastic_block_model


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


def test_stochastic_block_model_density_and_labels():
    data = stochastic_block_model([300, 200, 500], p_in=0.02, p_out=0.001, num_features=8, feature_noise=0.3, seed=1)
    assert data.num_nodes == 1000 and data.x.shape == (1000, 8) and data.is_undirected()
    assert data.y.bincount().tolist() == [300, 200, 500]
    src, dst = data.edge_index
    same = data.y[src] == data.y[dst]
    # Expected undirected edges: within 0.02 * (300^2 + 200^2 + 500^2) / 2, between 0.001 * (300*200 + 300*500 + 200*500).
    assert abs(int(same.sum()) / 2 - 3800) < 4 * 3800 ** 0.5
    assert abs(int((~same).sum()) / 2 - 310) < 4 * 310 ** 0.5
    # Features separate the blocks: each node is nearest to its own block's mean.
    means = torch.stack([data.x[data.y == c].mean(0) for c in range(3)])
    assert (torch.cdist(data.x, means).argmin(1) == data.y).float().mean() > 0.9


@pytest.mark.parametrize("kwargs, message", [
    ({"block_sizes": []}, "block_sizes: expected a non-empty list"),
    ({"block_sizes": [3, 0]}, "block_sizes: expected a non-empty list"),
    ({"block_sizes": [3], "p_in": 1.5}, r"p_in: expected a probability in \[0, 1\]"),
    ({"block_sizes": [3], "num_features": -1}, "num_features: expected an int >= 0"),
])
def test_stochastic_block_model_bad_arguments(kwargs, message):
    arguments = {"p_in": 0.1, "p_out": 0.01, **kwargs}
    with pytest.raises(ValueError, match=message):
        stochastic_block_model(**arguments)
