import pytest
import torch

from geomlearn.equivariant import InteractionNetwork
from geomlearn.equivariant.testing import CARTESIAN_POINTS, assert_equivariant


def molecules(seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(1, 10, (11,), generator=g)
    pos = torch.randn(11, 3, generator=g, dtype=torch.float64) * 1.2
    return z, pos, torch.tensor([0] * 5 + [1] * 6)


@pytest.mark.parametrize("product", ["cg", "so2", "gaunt", "grid"])
def test_energy_invariant_and_forces_equivariant_with_every_product(product):
    torch.manual_seed(0)
    model = InteractionNetwork(channels=4, lmax=2, lmax_sh=2, num_layers=2, product=product, cutoff=3.0,
                               avg_num_neighbors=4.0).double()
    z, pos, batch = molecules()
    assert_equivariant(lambda p: model(z, p, batch), (pos,), [CARTESIAN_POINTS], None, do_translation=True)
    assert_equivariant(lambda p: model.energy_and_forces(z, p, batch)[1], (pos,), [CARTESIAN_POINTS], "1o",
                       do_translation=True)


def test_forces_are_finite_differences_and_molecules_independent():
    torch.manual_seed(1)
    model = InteractionNetwork(channels=4, lmax=1, lmax_sh=2, num_layers=2, cutoff=3.0).double()
    z, pos, batch = molecules(1)
    energy, forces = model.energy_and_forces(z, pos, batch)
    torch.testing.assert_close(energy[1], model(z[5:], pos[5:])[0])
    step = 1e-6
    for atom, axis in ((0, 2), (7, 0)):
        plus, minus = pos.clone(), pos.clone()
        plus[atom, axis] += step
        minus[atom, axis] -= step
        numeric = -(model(z, plus, batch).sum() - model(z, minus, batch).sum()) / (2 * step)
        torch.testing.assert_close(forces[atom, axis], numeric, atol=1e-7, rtol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="channels: expected an int >= 1"):
        InteractionNetwork(channels=0)
    with pytest.raises(ValueError, match="product: expected one of"):
        InteractionNetwork(product="fft")
