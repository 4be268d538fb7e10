import itertools

import pytest
import torch

from geomlearn.equivariant import periodic_radius_graph, radius_graph


def brute_force(pos, r, batch):
    close = (torch.cdist(pos, pos) < r) & (batch[:, None] == batch[None, :])
    close.fill_diagonal_(False)
    target, source = close.nonzero().T
    order = torch.argsort(target * (len(pos) + 1) + source)
    return torch.stack([source[order], target[order]])


def test_equals_brute_force_with_batches():
    torch.manual_seed(0)
    pos = torch.rand(400, 3, dtype=torch.float64) * 6 - 3
    batch = torch.arange(400) // 150
    edge_index = radius_graph(pos, 1.1, batch, max_num_neighbors=None)
    assert torch.equal(edge_index, brute_force(pos, 1.1, batch))
    with_loops = radius_graph(pos, 1.1, batch, loop=True, max_num_neighbors=None)
    assert with_loops.shape[1] == edge_index.shape[1] + 400
    assert torch.equal(radius_graph(pos, 1.1, batch, flow="target_to_source", max_num_neighbors=None),
                       edge_index.flip(0))
    open_space, shifts = periodic_radius_graph(pos, 1.1, None, batch)
    assert shifts is None and torch.equal(open_space, edge_index)


@pytest.mark.parametrize("loop", [False, True])
def test_at_most_max_num_neighbors_the_nearest(loop):
    """torch_geometric's default caps every target at 32 neighbours, its own loop among them when loop=True (as
    torch_cluster counts it); these are the nearest."""
    torch.manual_seed(2)
    pos = torch.rand(300, 3, dtype=torch.float64) * 2
    edge_index = radius_graph(pos, 0.8, loop=loop)
    everything = brute_force(pos, 0.8, torch.zeros(300, dtype=torch.long))
    distance = torch.cdist(pos, pos)
    for i in range(0, 300, 37):
        neighbours = everything[0, everything[1] == i]
        nearest = neighbours[torch.argsort(distance[i, neighbours], stable=True)][:32 - loop]
        kept = edge_index[0, (edge_index[1] == i) & (edge_index[0] != i)]
        assert sorted(kept.tolist()) == sorted(nearest.tolist())
    assert torch.bincount(edge_index[1]).max() == 32


def test_periodic_cell_smaller_than_the_cutoff_counts_every_image():
    torch.manual_seed(1)
    cell = torch.tensor([[2.0, 0.0, 0.0], [0.3, 1.5, 0.0], [0.2, 0.1, 1.8]], dtype=torch.float64)
    pos = torch.rand(15, 3, dtype=torch.float64) @ cell
    edge_index, shifts = periodic_radius_graph(pos, 2.5, cell)
    vectors = pos[edge_index[1]] - pos[edge_index[0]] - shifts @ cell
    assert (vectors.norm(dim=1) < 2.5).all()
    expected = set()
    for image in itertools.product(range(-4, 5), repeat=3):
        n = torch.tensor(image, dtype=torch.float64)
        distance = (pos[:, None, :] - pos[None, :, :] - n @ cell).norm(dim=-1)      # [i, j]
        for i, j in (distance < 2.5).nonzero().tolist():
            if i != j or any(image):
                expected.add((j, i, image))
    found = {(j, i, tuple(int(v) for v in s)) for (j, i), s in zip(edge_index.T.tolist(), shifts)}
    assert found == expected


def test_bad_input():
    with pytest.raises(ValueError, match="x: expected finite positions"):
        radius_graph(torch.tensor([[0.0, 0.0, float("nan")]]), 1.0)
    with pytest.raises(ValueError, match=r"x: expected floating-point positions \[N, 3\]"):
        radius_graph(torch.zeros(4, 2), 1.0)
    with pytest.raises(ValueError, match="r: expected a finite cutoff > 0"):
        radius_graph(torch.zeros(4, 3), 0.0)
    with pytest.raises(ValueError, match="max_num_neighbors: expected an int >= 0 or None"):
        radius_graph(torch.zeros(4, 3), 1.0, max_num_neighbors=-1)
    with pytest.raises(ValueError, match="cell: expected a non-singular"):
        periodic_radius_graph(torch.zeros(4, 3), 1.0, torch.zeros(3, 3))
