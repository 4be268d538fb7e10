"""Argument checks shared by the decompositions: each error names the argument, the expected and the received value."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ..argument_checks import check_int, is_int


def check_tensor(tensor, *, allow_sparse: bool = False) -> Tensor:
    """A floating-point or complex tensor of order >= 2 with finite entries (sparse COO where allowed)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_sparse and not allow_sparse:
        raise ValueError("tensor: this decomposition takes a dense tensor (with a mask for missing entries), got a "
                         "sparse COO tensor")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise TypeError(f"tensor: expected a floating-point or complex dtype, got {tensor.dtype}")
    if tensor.dim() < 2:
        raise ValueError(f"tensor: expected a tensor of order >= 2, got shape {list(tensor.shape)} (order "
                         f"{tensor.dim()})")
    if tensor.is_sparse:
        _check_coordinates(tensor)
    values = tensor.coalesce().values() if tensor.is_sparse else tensor
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values)).sum())
        raise ValueError(f"tensor: expected finite entries, got {bad} NaN / inf entries (mark missing entries with "
                         f"mask=... and any finite value instead)")
    return tensor


def _check_coordinates(tensor: Tensor) -> None:
    """Every stored coordinate of a sparse COO tensor lies inside its shape, checked before anything coalesces it:
    torch builds such a tensor without checking by default, and coalescing would sum an entry past the end of a
    mode into whichever valid entry its flattened position aliases."""
    if tensor.dense_dim():
        raise ValueError(f"tensor: expected a sparse COO tensor of scalar entries, got {tensor.dense_dim()} dense "
                         f"dimension(s) per entry")
    indices = tensor._indices()
    if indices.shape[1] == 0:
        return
    low, high = indices.amin(dim=1).tolist(), indices.amax(dim=1).tolist()
    for mode, size in enumerate(tensor.shape):
        if low[mode] < 0 or high[mode] >= size:
            raise ValueError(f"tensor: the sparse coordinates of mode {mode} must lie in 0..{size - 1}, got "
                             f"{low[mode]}..{high[mode]}")


def check_mask(mask: Optional[Tensor], tensor: Tensor) -> Optional[Tensor]:
    """``None``, or a boolean / 0-1 tensor of ``tensor``'s shape: True (1) where the entry is observed."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.shape != tensor.shape:
        shape = list(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"mask: expected a tensor of the tensor's shape {list(tensor.shape)}, got {shape}")
    if mask.dtype != torch.bool:
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask: expected booleans or 0 / 1 entries (1 = observed), got other values")
        mask = mask.bool()
    if not bool(mask.any()):
        raise ValueError("mask: expected at least one observed entry, got none")
    return mask.to(tensor.device)


def check_iterations(n_iter_max: int, tol: float, minimum: int = 1) -> None:
    """``n_iter_max`` an int >= ``minimum`` (0 where the initialisation alone is a valid answer) and ``tol`` >= 0."""
    check_int("n_iter_max", n_iter_max, minimum)
    if not isinstance(tol, (int, float)) or not tol >= 0 or math.isinf(tol):
        raise ValueError(f"tol: expected a finite number >= 0, got {tol!r}")


def generator_for(random_state, device) -> torch.Generator:
    """A generator from ``random_state``: an int seed, a ``torch.Generator`` or None (a fresh random seed)."""
    if isinstance(random_state, torch.Generator):
        return random_state
    if random_state is not None and not is_int(random_state):
        raise ValueError(f"random_state: expected an int seed, a torch.Generator or None, got {random_state!r}")
    generator = torch.Generator(device=device)
    generator.manual_seed(random_state if random_state is not None else int(torch.randint(2 ** 62, ())))
    return generator


# TensorLy's SVD choices; geomlearn computes the exact (truncated) SVD for each.
SVD_NAMES = ("truncated_svd", "randomized_svd", "symeig_svd")


def check_svd(svd) -> None:
    """``svd`` is one of TensorLy's SVD names."""
    if svd not in SVD_NAMES:
        raise ValueError(f"svd: expected one of {SVD_NAMES}, got {svd!r}")


def random_state_of(random_state) -> np.random.RandomState:
    """TensorLy's ``check_random_state``: a numpy ``RandomState`` from ``None`` (numpy's global one), an int seed
    or a ``RandomState``."""
    if random_state is None:
        return np.random.mtrand._rand
    if is_int(random_state):
        return np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError(f"random_state: expected None, an int seed or a numpy RandomState, got {random_state!r}")


def uniform_draw(rng: np.random.RandomState, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """``rng.random_sample(shape)`` (uniform on [0, 1), TensorLy's random starts) in ``like``'s dtype and device."""
    return torch.as_tensor(rng.random_sample(shape)).to(dtype=like.dtype, device=like.device)
