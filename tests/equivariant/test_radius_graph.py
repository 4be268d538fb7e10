import itertools

import pytest
import torch

from geomlearn.equivariant import radius_graph


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
    edge_index, shifts = radius_graph(pos, 1.1, batch)
    assert shifts is None
    assert torch.equal(edge_index, brute_force(pos, 1.1, batch))
    with_loops, _ = radius_graph(pos, 1.1, batch, loop=True)
    assert with_loops.shape[1] == edge_index.shape[1] + 400


def test_periodic_cell_smaller_than_the_cutoff_counts_every_image():
    torch.manual_seed(1)
    cell = torch.tensor([[2.0, 0.0, 0.0], [0.3, 1.5, 0.0], [0.2, 0.1, 1.8]], dtype=torch.float64)
    pos = torch.rand(15, 3, dtype=torch.float64) @ cell
    edge_index, shifts = radius_graph(pos, 2.5, cell=cell)
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
    with pytest.raises(ValueError, match="pos: expected finite positions"):
        radius_graph(torch.tensor([[0.0, 0.0, float("nan")]]), 1.0)
    with pytest.raises(ValueError, match=r"pos: expected floating-point positions \[N, 3\]"):
        radius_graph(torch.zeros(4, 2), 1.0)
    with pytest.raises(ValueError, match="r: expected a finite cutoff > 0"):
        radius_graph(torch.zeros(4, 3), 0.0)
    with pytest.raises(ValueError, match="cell: expected a non-singular"):
        radius_graph(torch.zeros(4, 3), 1.0, cell=torch.zeros(3, 3))
