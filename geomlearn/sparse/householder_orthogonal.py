r"""Orthogonal ``d x d`` blocks, one per edge, as products of Householder reflections (O(d) restriction maps)."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from ..argument_checks import check_int
from ._checks import check_float
from .kernels import backend_for


@torch.library.custom_op("geomlearn::householder_product", mutates_args=())
def householder_product_op(params: Tensor, d: int) -> Tensor:
    """``[E, d, d]`` products of the reflections whose vectors hold ``params [E, d (d - 1) / 2]``."""
    return backend_for(params.device).householder_product(params, d)


@householder_product_op.register_fake
def _(params, d):
    return params.new_empty((params.shape[0], d, d))


@torch.library.custom_op("geomlearn::householder_product_backward", mutates_args=())
def householder_product_backward_op(params: Tensor, product: Tensor, grad: Tensor) -> Tensor:
    """``dL/dparams`` from the forward's ``product`` and ``grad = dL/dproduct``, walked back per edge from the
    product itself (``Q_i = Q_{i+1} H_i``, as ``H_i^2 = I``): the forward stores nothing else."""
    return backend_for(params.device).householder_product_backward(params, product, grad.contiguous())


@householder_product_backward_op.register_fake
def _(params, product, grad):
    return torch.empty_like(params)


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], output)


def _backward(ctx, grad):
    params, product = ctx.saved_tensors
    return householder_product_backward_op(params, product, grad), None


householder_product_op.register_autograd(_backward, setup_context=_setup_context)


def householder_orthogonal(params: Tensor, d: int) -> Tensor:
    r"""Per edge, the orthogonal matrix :math:`Q = H_0 H_1 \cdots H_{d-2}` of ``d - 1`` Householder reflections.

    .. math::
        H_i = I - \tau_i v_i v_i^\top, \qquad \tau_i = \frac{2}{\lVert v_i \rVert^2}, \qquad
        v_i = e_i + \sum_{r > i} p_{r i}\, e_r,

    with the strictly lower triangle :math:`p_{ri}` read row by row from ``params`` (the order of
    ``torch.tril_indices(d, d, -1)``): what ``torch.linalg.householder_product`` returns for these
    reflectors, orthogonal for every ``params``, with determinant :math:`(-1)^{d-1}`. Every edge is one
    iteration of a fused kernel (numba on the CPU, Triton on CUDA) that keeps its ``d x d`` product in
    registers; the backward pass walks the reflections back from the product (:math:`H_i^{-1} = H_i`), so
    no intermediate is stored and none of ``[E, d, d]`` is formed beyond the output. With

    .. math::
        A = Q_i^\top \bar Q_{i+1}: \quad
        \bar v_i = -\tau_i (A + A^\top) v_i + \tau_i^2 (v_i^\top A v_i)\, v_i, \qquad
        \bar Q_i = \bar Q_{i+1} H_i.

    Args:
        params: ``[E, d (d - 1) / 2]`` floating-point reflector entries.
        d: the block size, ``>= 1`` (``d = 1``: every block is ``[[1]]``).

    Returns:
        ``[E, d, d]`` orthogonal blocks.

    Raises:
        TypeError: ``params`` not a floating-point tensor.
        ValueError: ``d < 1`` or ``params`` not ``[E, d (d - 1) / 2]``.
    """
    check_int("d", d, what="a block size")
    check_float("params", params)
    if params.dim() != 2 or params.shape[1] != d * (d - 1) // 2:
        raise ValueError(f"params: expected [E, {d * (d - 1) // 2}] reflector entries for d = {d}, got "
                         f"{list(params.shape)}")
    return householder_product_op(params, d)


def householder_product(params: Tensor, d: int) -> Tensor:
    """Deprecated name of :func:`householder_orthogonal` (``torch.linalg.householder_product`` is another function,
    with another contract); it warns, for one release."""
    warnings.warn("geomlearn.sparse.householder_product is deprecated: it is householder_orthogonal "
                  "(torch.linalg.householder_product has another contract)", DeprecationWarning, stacklevel=2)
    return householder_orthogonal(params, d)
