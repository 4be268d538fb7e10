"""CP decomposition and tensor completion through geomlearn's API (TensorLy's keywords and result types).

    python examples/tensor_completion.py          # a 200^3 tensor, 1 % of its entries observed
    python examples/tensor_completion.py --tiny   # a 40^3 tensor (what CI runs)

A rank-5 tensor is planted; CP-ALS recovers it from the whole tensor, then from a sparse COO tensor holding a small
fraction of its entries, without ever forming the dense tensor. The relative error on the entries never seen says
whether the completion found the tensor or only fitted the observations.
"""

from __future__ import annotations

import argparse

import torch

from geomlearn.tensor_networks import cp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--observed", type=float, default=0.01, help="fraction of the entries observed")
    parser.add_argument("--tiny", action="store_true", help="a 40^3 tensor with 20 %% observed (what CI runs)")
    args = parser.parse_args()
    size, fraction = (40, 0.2) if args.tiny else (args.size, args.observed)

    g = torch.Generator().manual_seed(0)
    planted = [torch.randn(size, 5, generator=g, dtype=torch.float64) for _ in range(3)]
    tensor = torch.einsum("ir,jr,kr->ijk", *planted)

    weights, factors = cp(tensor, rank=5, n_iter_max=200, tol=1e-12, random_state=0)   # unpacks like a CPTensor
    fit = cp(tensor, rank=5, n_iter_max=200, tol=1e-12, random_state=0)
    print(f"CP of the whole tensor: relative error {fit.errors[-1]:.1e} after {len(fit.errors)} sweeps")

    count = int(fraction * size ** 3)
    flat = torch.randperm(size ** 3, generator=g)[:count]                    # distinct entries
    coordinates = torch.stack(torch.unravel_index(flat, (size,) * 3))
    observed = torch.sparse_coo_tensor(coordinates, tensor[tuple(coordinates)], (size,) * 3,
                                       check_invariants=True).coalesce()
    completion = cp(observed, rank=5, n_iter_max=500, tol=1e-14, random_state=0)
    print(f"completion from {observed._nnz():,} entries ({100 * fraction:g} %): "
          f"{len(completion.errors)} sweeps")
    unseen = torch.ones(size ** 3, dtype=torch.bool)
    unseen[flat] = False
    truth, predicted = tensor.flatten()[unseen], completion.to_tensor().flatten()[unseen]
    print(f"relative error on the {int(unseen.sum()):,} entries never observed: "
          f"{float((predicted - truth).norm() / truth.norm()):.1e}")


if __name__ == "__main__":
    main()
