"""Grouped matrix product: each segment of rows times its own weight matrix."""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import check_float
from .kernels import backend_for


@torch.library.custom_op("geomlearn::segment_matmul", mutates_args=())
def segment_matmul_op(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    """``out[ptr[g]:ptr[g+1]] = x[ptr[g]:ptr[g+1]] @ weight[g]``."""
    return backend_for(x.device).segment_matmul(x, ptr, weight)


@segment_matmul_op.register_fake
def _(x, ptr, weight):
    return x.new_empty((x.shape[0], weight.shape[2]))


@torch.library.custom_op("geomlearn::segment_matmul_weight_grad", mutates_args=())
def segment_matmul_weight_grad_op(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    """``out[g] = x[ptr[g]:ptr[g+1]]^T @ grad[ptr[g]:ptr[g+1]]``, ``[G, K, M]``."""
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
    # The boundaries' values are checked eagerly; a compiled graph cannot branch on them.
    if not torch.compiler.is_compiling() and (
        int(ptr[0]) != 0 or int(ptr[-1]) != x.shape[0] or bool((ptr[1:] < ptr[:-1]).any())
    ):
        raise ValueError(
            f"ptr: expected non-decreasing boundaries from 0 to {x.shape[0]} (the rows of x), got {ptr.tolist()}"
        )
    for name, value in (("ptr", ptr), ("weight", weight)):
        if value.device != x.device:
            raise ValueError(f"{name}: expected a tensor on x's device {x.device}, got {value.device}")
    return segment_matmul_op(x, ptr, weight)
