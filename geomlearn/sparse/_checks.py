"""Argument checks shared by the public sparse ops: each error names the argument, what was expected
and what was received."""

from __future__ import annotations

import torch
from torch import Tensor

from .index import SparseIndex
from .kernels import backend_name


def check_index(index) -> SparseIndex:
    if not isinstance(index, SparseIndex):
        raise TypeError(
            f"index: expected a geomlearn.sparse.SparseIndex (build one with SparseIndex(edge_index, num_nodes)), "
            f"got {type(index).__name__}"
        )
    index.check_intact()
    return index


_CPU_DTYPES = (torch.float32, torch.float64)


def check_float(name: str, value, *, min_dim: int = 1) -> Tensor:
    """A floating-point tensor of at least ``min_dim`` dimensions, in a dtype its backend computes in: the CPU
    kernels take float32 and float64 (the Triton kernels also 16-bit floats, accumulating in float32)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    if value.dtype not in _CPU_DTYPES and value.device.type == "cpu" and backend_name(value.device) == "cpu":
        raise TypeError(f"{name}: expected float32 or float64 on the CPU (its kernels compute in these), got "
                        f"{value.dtype}; convert with .float(), or run on a GPU for 16-bit floats")
    if value.dim() < min_dim:
        raise ValueError(f"{name}: expected at least {min_dim} dimension(s), got shape {list(value.shape)}")
    return value


def check_rows(name: str, value: Tensor, rows: int, what: str) -> None:
    if value.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows ({what}), got shape {list(value.shape)}")


def check_device(name: str, value: Tensor, index: SparseIndex) -> None:
    if value.device != index.device:
        raise ValueError(
            f"{name}: expected a tensor on the index's device {index.device}, got {value.device} "
            f"(move the index with index.to(device))"
        )


def check_like(name: str, value: Tensor, like: Tensor, like_name: str, index: SparseIndex) -> None:
    """``value`` has ``like``'s dtype and sits on the index's device."""
    if value.dtype != like.dtype:
        raise TypeError(f"{name}: expected dtype {like.dtype} (the dtype of {like_name}), got {value.dtype}")
    check_device(name, value, index)


def check_reduce(reduce: str, allowed: tuple[str, ...]) -> None:
    if reduce not in allowed:
        raise ValueError(f"reduce: expected one of {allowed}, got {reduce!r}")
