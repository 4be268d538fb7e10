"""Structure search: which tensor network represents a tensor compactly.

    python examples/structure_search.py          # a planted tensor train 6^5
    python examples/structure_search.py --tiny   # a train 3^4, at most 60 fits (what CI runs)

A tensor is built from a planted tensor train; greedy rank increments (Hashemizadeh et al.) search the networks for
the fewest parameters at a small reconstruction error (the objective compression ratio + 200 RSE of Li et al.), each
candidate fitted by Adam. The search may settle on another structure than the planted one where that one scores
better on the objective; ``python -m benchmarks tensor --only search`` runs the published cases. The structure found is an adjacency matrix: mode sizes on the diagonal, bond ranks off it.
"""

from __future__ import annotations

import argparse

import torch

from geomlearn.tensor_networks import NetworkStructure, greedy_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a 3^4 tensor, at most 60 fits (what CI runs)")
    args = parser.parse_args()
    modes, ranks = ((3,) * 4, (2, 2, 2)) if args.tiny else ((6,) * 5, (2, 3, 3, 2))

    planted = NetworkStructure.tensor_train(modes, ranks)
    g = torch.Generator().manual_seed(0)
    bonds = (1, *ranks, 1)
    tensor = torch.ones(1, 1)
    for k, size in enumerate(modes):                    # contract random train cores: the planted train holds it
        core = torch.randn(bonds[k], size, bonds[k + 1], generator=g)
        tensor = torch.tensordot(tensor, core, dims=1)
    tensor = tensor.reshape(modes)
    options = dict(max_evaluations=60, candidate_steps=200, fit_options=dict(max_steps=2000)) if args.tiny else {}
    found = greedy_search(tensor, random_state=0, progress=not args.tiny, **options)
    print("planted structure:\n", planted)
    print("found structure:\n", found.structure)
    print(f"RSE {found.rse:.1e}, compression ratio {found.compression_ratio:.2f}, {found.evaluations} fits")


if __name__ == "__main__":
    main()
