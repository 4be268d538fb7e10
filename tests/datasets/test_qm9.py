import pytest
import torch

from geomlearn.datasets import TARGETS_QM9 as TARGETS, atom_references, qm9, qm9_split


def test_first_molecules_their_units_and_atomisation_energy():
    molecules = qm9(max_molecules=30)
    assert len(molecules) == 30
    methane = molecules[0]
    assert methane.z.tolist() == [6, 1, 1, 1, 1] and methane.pos.shape == (5, 3) and methane.y.shape == (1, 12)
    # C-H bonds of methane are 1.09 Å.
    bonds = (methane.pos[1:] - methane.pos[0]).norm(dim=1)
    torch.testing.assert_close(bonds, torch.full((4,), 1.0919), atol=2e-3, rtol=0)
    u0 = list(TARGETS).index("U0")
    assert TARGETS["U0"][2] == "eV"
    # Atomisation energy of methane at 0 K (B3LYP): -0.6311 Hartree = -17.17 eV.
    atomisation = methane.y[0, u0] - atom_references("U0")[methane.z].sum()
    assert abs(float(atomisation) + 17.17) < 0.01
    gap = list(TARGETS).index("gap")
    torch.testing.assert_close(methane.y[0, gap], methane.y[0, list(TARGETS).index("lumo")] -
                               methane.y[0, list(TARGETS).index("homo")], atol=1e-3, rtol=0)
    assert all(set(m.z.tolist()) <= {1, 6, 7, 8, 9} for m in molecules)


def test_standard_split_is_a_seeded_partition():
    split = qm9_split(130_831, seed=1)
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (110_000, 10_000, 10_831)
    everything = torch.cat(list(split.values()))
    assert torch.equal(everything.sort().values, torch.arange(130_831))
    assert torch.equal(qm9_split(130_831, seed=1)["val"], split["val"])
    assert not torch.equal(qm9_split(130_831, seed=2)["val"], split["val"])


def test_bad_input():
    with pytest.raises(ValueError, match="max_molecules: expected an int >= 1"):
        qm9(max_molecules=0)
    with pytest.raises(ValueError, match="train, val: .* leave no test molecules"):
        qm9_split(100, train=90, val=10)
    with pytest.raises(ValueError, match="target: atom references exist for"):
        atom_references("gap")
