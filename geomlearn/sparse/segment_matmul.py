"""Grouped matrix product: each segment of rows times its own weight matrix."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_float
from .kernels import backend_for


def check_boundaries(ptr: Tensor, rows: int) -> None:
    """``ptr`` runs from 0 to ``rows``, non-decreasing. The ops check it on their real inputs, so the check holds
    in a compiled graph too (which cannot branch on a tensor's values while tracing)."""
    if int(ptr[0]) != 0 or int(ptr[-1]) != rows:
        raise ValueError(f"ptr: expected boundaries from 0 to {rows} (the rows of x), got {int(ptr[0])} to "
                         f"{int(ptr[-1])}")
    drops = (ptr[1:] < ptr[:-1]).nonzero()
    if drops.numel():
        g = int(drops[0])
        raise ValueError(f"ptr: expected non-decreasing boundaries, got ptr[{g}] = {int(ptr[g])} > "
                         f"ptr[{g + 1}] = {int(ptr[g + 1])}")


@torch.library.custom_op("geomlearn::segment_matmul", mutates_args=())
def segment_matmul_op(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """``out[ptr[g]:ptr[g+1]] = x[ptr[g]:ptr[g+1]] @ weight[g]``."""
    check_boundaries(ptr, x.shape[0])
    return backend_for(x.device).segment_matmul(x, ptr, weight)


@segment_matmul_op.register_fake
def _(x, ptr, weight):
    return x.new_empty((x.shape[0], weight.shape[2]))


@torch.library.custom_op("geomlearn::segment_matmul_weight_grad", mutates_args=())
def segment_matmul_weight_grad_op(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    """``out[g] = x[ptr[g]:ptr[g+1]]^T @ grad[ptr[g]:ptr[g+1]]``, ``[G, K, M]``."""
    check_boundaries(ptr, x.shape[0])
    return backend_for(x.device).segment_matmul_weight_grad(x, ptr, grad)


@segment_matmul_weight_grad_op.register_fake
def _(x, ptr, grad):
    return x.new_empty((ptr.shape[0] - 1, x.shape[1], grad.shape[1]))


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    x, ptr, weight = ctx.saved_tensors
    grad_x = segment_matmul_op(grad, ptr, weight.transpose(1, 2).contiguous()) if ctx.needs_input_grad[0] else None
    grad_w = segment_matmul_weight_grad_op(x, ptr, grad) if ctx.needs_input_grad[2] else None
    return grad_x, None, grad_w


segment_matmul_op.register_autograd(_backward, setup_context=_setup_context)


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    r"""Multiply each segment of rows by its own matrix (per-relation / per-type linear maps).

    .. math::
        \mathrm{out}_{r} = x_r W_g \quad \text{for } \mathrm{ptr}_g \le r < \mathrm{ptr}_{g+1}

    Args:
        x: ``[R, K]``, rows grouped by segment.
        ptr: ``[G + 1]`` integer segment boundaries, ``ptr[0] = 0``, non-decreasing, ``ptr[G] = R``.
        weight: ``[G, K, M]``.

    Returns:
        ``[R, M]``.
    """
    check_float("x", x, min_dim=2)
    check_float("weight", weight, min_dim=3)
    if x.dim() != 2:
        raise ValueError(f"x: expected shape [R, K], got {list(x.shape)}")
    if weight.dim() != 3 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight: expected shape [G, {x.shape[1]}, M] (K from x), got {list(weight.shape)}")
    if weight.dtype != x.dtype:
        raise TypeError(f"weight: expected dtype {x.dtype} (the dtype of x), got {weight.dtype}")
    if not isinstance(ptr, Tensor) or ptr.is_floating_point() or ptr.is_complex() or ptr.dim() != 1:
        raise TypeError(f"ptr: expected a 1-D integer tensor of segment boundaries, got {ptr!r}")
    if ptr.shape[0] != weight.shape[0] + 1:
        raise ValueError(
            f"ptr: expected {weight.shape[0] + 1} boundaries (one more than the {weight.shape[0]} weight matrices), "
            f"got {ptr.shape[0]}"
        )
    for name, value in (("ptr", ptr), ("weight", weight)):
        if value.device != x.device:
            raise ValueError(f"{name}: expected a tensor on x's device {x.device}, got {value.device}")
    return segment_matmul_op(x, ptr, weight)
