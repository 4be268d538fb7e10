"""TensorNet on a few QM9 molecules: energies by regression, forces as their negative gradient, and a check that the
forces rotate with the molecule.

    python examples/qm9_forces.py            # 1,000 molecules, 300 steps
    python examples/qm9_forces.py --tiny     # 64 molecules, 5 steps (what CI runs)

QM9 comes from the ``qm9pack`` package. The model learns U0 less the free atoms' energies (the data set's atom
references), in eV; ``energy_and_forces`` differentiates the energy with respect to the positions, so the same model
gives forces (and trains on them where a data set has them).
"""

from __future__ import annotations

import argparse

import torch
from torch_geometric.data import Batch

from geomlearn.datasets import qm9
from geomlearn.datasets.qm9 import TARGETS, atom_references
from geomlearn.equivariant import TensorNet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--tiny", action="store_true", help="64 molecules, 5 steps (what CI runs)")
    args = parser.parse_args()
    molecules, steps = (64, 5) if args.tiny else (args.molecules, args.steps)

    torch.manual_seed(0)
    data = qm9(max_molecules=molecules)
    column = list(TARGETS).index("U0")
    train, test = data[: int(0.9 * len(data))], data[int(0.9 * len(data)):]
    model = TensorNet(hidden_channels=64, num_layers=2, max_z=9, atomref=atom_references("U0"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def energies(batch):
        return model(batch.z, batch.pos.float(), batch.batch)

    for step in range(steps):
        batch = Batch.from_data_list([train[i] for i in torch.randint(0, len(train), (32,)).tolist()])
        loss = (energies(batch) - batch.y[:, column].float()).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or args.tiny:
            print(f"step {step:3d}: training MAE {1e3 * float(loss):.0f} meV")
    model.eval()
    batch = Batch.from_data_list(test)
    with torch.no_grad():
        error = (energies(batch) - batch.y[:, column].float()).abs().mean()
    print(f"test MAE on {len(test)} molecules: {1e3 * float(error):.0f} meV")

    # Forces of one molecule, and of the same molecule rotated: the forces rotate with it.
    molecule = test[0]
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))[0]
    _, forces = model.energy_and_forces(molecule.z, molecule.pos.float())
    _, rotated = model.energy_and_forces(molecule.z, molecule.pos.float() @ rotation.T)
    print(f"forces [{len(molecule.z)}, 3]; rotated molecule's forces minus rotated forces: "
          f"{float((rotated - forces @ rotation.T).abs().max()):.1e} eV/Å")


if __name__ == "__main__":
    main()
