"""Tensors of known structure for the decomposition tests."""

from __future__ import annotations

import torch

from geomlearn.tensor_networks import CPTensor, TTTensor, TuckerTensor


def planted_cp(shape, rank, seed=0, dtype=torch.float64) -> CPTensor:
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(s, rank, generator=g, dtype=torch.float64).to(dtype) for s in shape]
    if dtype.is_complex:
        factors = [f + 1j * torch.randn(f.shape, generator=g, dtype=torch.float64) for f in factors]
    return CPTensor(torch.ones(rank, dtype=dtype), factors)


def planted_tucker(shape, ranks, seed=0, dtype=torch.float64) -> TuckerTensor:
    g = torch.Generator().manual_seed(seed)
    core = torch.randn(ranks, generator=g, dtype=torch.float64).to(dtype)
    factors = [torch.randn(s, r, generator=g, dtype=torch.float64).to(dtype) for s, r in zip(shape, ranks)]
    return TuckerTensor(core, factors)


def planted_tt(shape, ranks, seed=0, dtype=torch.float64) -> TTTensor:
    g = torch.Generator().manual_seed(seed)
    bonds = (1, *ranks, 1)
    return TTTensor([torch.randn(bonds[n], s, bonds[n + 1], generator=g, dtype=torch.float64).to(dtype)
                     for n, s in enumerate(shape)])
