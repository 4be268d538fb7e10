import pytest
import torch

from geomlearn.equivariant import TensorNet
from geomlearn.equivariant.tensornet import decompose, skew
from geomlearn.equivariant.testing import CARTESIAN_POINTS, assert_equivariant, random_orthogonal


def molecules(seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(1, 10, (13,), generator=g)
    pos = torch.randn(13, 3, generator=g, dtype=torch.float64) * 1.2
    return z, pos, torch.tensor([0] * 6 + [1] * 7)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TensorNet(hidden_channels=8, num_layers=2, num_rbf=6, cutoff=3.0, max_z=10).double()


def test_parts_and_their_transformation():
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    scalar, antisymmetric, symmetric = decompose(x)
    torch.testing.assert_close(scalar + antisymmetric + symmetric, x)
    torch.testing.assert_close(antisymmetric, -antisymmetric.transpose(1, 2))
    torch.testing.assert_close(symmetric.diagonal(dim1=1, dim2=2).sum(1), torch.zeros(4, dtype=torch.float64))
    v, u = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    torch.testing.assert_close(skew(v) @ u, torch.linalg.cross(v, u))
    for g in random_orthogonal(2):                       # [g v]_x = det(g) g [v]_x g^T: A is a 1o quantity
        torch.testing.assert_close(skew(g @ v), torch.linalg.det(g) * g @ skew(v) @ g.T)


def test_energy_is_invariant_and_forces_equivariant(model):
    z, pos, batch = molecules()
    assert_equivariant(lambda p: model(z, p, batch), (pos,), [CARTESIAN_POINTS], None, do_translation=True)
    assert_equivariant(lambda p: model.energy_and_forces(z, p, batch)[1], (pos,), [CARTESIAN_POINTS], "1o",
                       do_translation=True)


def test_forces_are_finite_differences_of_the_energy(model):
    z, pos, batch = molecules(1)
    _, forces = model.energy_and_forces(z, pos, batch)
    step = 1e-6
    for atom, axis in ((0, 0), (4, 1), (9, 2)):
        shifted = [pos.clone(), pos.clone()]
        shifted[0][atom, axis] += step
        shifted[1][atom, axis] -= step
        numeric = -(model(z, shifted[0], batch).sum() - model(z, shifted[1], batch).sum()) / (2 * step)
        torch.testing.assert_close(forces[atom, axis], numeric, atol=1e-7, rtol=1e-6)


def test_molecules_are_independent_and_atom_order_does_not_matter(model):
    z, pos, batch = molecules(2)
    energies = model(z, pos, batch)
    torch.testing.assert_close(energies[0], model(z[:6], pos[:6])[0])
    torch.testing.assert_close(energies[1], model(z[6:], pos[6:])[0])
    perm = torch.randperm(13)
    torch.testing.assert_close(model(z[perm], pos[perm], batch[perm]), energies)


def test_atom_references_are_added_per_atom():
    torch.manual_seed(3)
    atomref = torch.randn(11)
    plain = TensorNet(hidden_channels=8, num_layers=1, num_rbf=6, cutoff=3.0, max_z=10)
    shifted = TensorNet(hidden_channels=8, num_layers=1, num_rbf=6, cutoff=3.0, max_z=10, atomref=atomref)
    shifted.load_state_dict(plain.state_dict(), strict=False)
    z, pos, batch = molecules(3)
    expected = plain(z, pos.float(), batch) + torch.stack([atomref[z[:6]].sum(), atomref[z[6:]].sum()])
    torch.testing.assert_close(shifted(z, pos.float(), batch), expected)


def test_bad_input(model):
    z, pos, batch = molecules()
    with pytest.raises(ValueError, match="pos: expected finite positions"):
        model(z, pos.masked_fill(torch.zeros_like(pos, dtype=torch.bool).index_fill(0, torch.tensor([2]), True),
                                 float("nan")), batch)
    with pytest.raises(ValueError, match="z: expected atomic numbers"):
        model(z + 20, pos, batch)
    with pytest.raises(ValueError, match="hidden_channels: expected an int >= 1"):
        TensorNet(hidden_channels=0)
