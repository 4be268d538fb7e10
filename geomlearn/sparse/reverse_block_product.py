r"""Per-edge products of a block with its reverse edge's block: the off-diagonal blocks of a sheaf Laplacian."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._checks import check_device, check_float, check_index, check_like
from .index import SparseIndex
from .kernels import backend_for
from .reverse_edges import reverse_edges


@torch.library.custom_op("geomlearn::reverse_block_product", mutates_args=())
def reverse_block_product_op(rev: Tensor, blocks: Tensor, left: Optional[Tensor], right: Optional[Tensor]) -> Tensor:
    """``out[e] = diag(left[e]) blocks[rev[e]]^T blocks[e] diag(right[e])``."""
    kernels = backend_for(blocks.device)
    kernels.check_indices("reverse_block_product", rev=(rev, 0, blocks.shape[0]))
    return kernels.reverse_block_product(rev, blocks, left, right)


@reverse_block_product_op.register_fake
def _(rev, blocks, left, right):
    return torch.empty_like(blocks)


@torch.library.custom_op("geomlearn::reverse_block_product_backward", mutates_args=())
def reverse_block_product_backward_op(rev: Tensor, blocks: Tensor, left: Optional[Tensor], right: Optional[Tensor],
                                      grad: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients for ``blocks`` and the scales (``[0, d]`` each without scales)."""
    kernels = backend_for(blocks.device)
    kernels.check_indices("reverse_block_product backward", rev=(rev, 0, blocks.shape[0]))
    grads = kernels.reverse_block_product_backward(rev, blocks, left, right, grad.contiguous())
    return tuple(blocks.new_empty(0, blocks.shape[1]) if g is None else g for g in grads)


@reverse_block_product_backward_op.register_fake
def _(rev, blocks, left, right, grad):
    scales = (blocks.shape[0] if left is not None else 0, blocks.shape[1])
    return torch.empty_like(blocks), blocks.new_empty(scales), blocks.new_empty(scales)


def _setup_context(ctx, inputs, output):
    rev, blocks, left, right = inputs
    ctx.scaled = left is not None
    ctx.save_for_backward(rev, blocks, left, right)


def _backward(ctx, grad):
    # Each edge's gradient gathers both places its block enters, its own product and its reverse's: no atomics.
    rev, blocks, left, right = ctx.saved_tensors
    grad_blocks, grad_left, grad_right = reverse_block_product_backward_op(rev, blocks, left, right, grad)
    if not ctx.scaled:
        return None, grad_blocks, None, None
    return None, grad_blocks, grad_left, grad_right


reverse_block_product_op.register_autograd(_backward, setup_context=_setup_context)


def reverse_block_product(index: SparseIndex, blocks: Tensor, left: Optional[Tensor] = None,
                          right: Optional[Tensor] = None) -> Tensor:
    r"""Per edge ``e = (u -> v)`` with reverse ``e' = (v -> u)``, the block of its reverse transposed times its own,
    scaled by rows and columns.

    .. math::
        \mathrm{out}_e = \operatorname{diag}(l_e)\, B_{e'}^\top B_e \operatorname{diag}(r_e)

    With ``blocks[e]`` the restriction map :math:`F_{u \trianglelefteq \{u, v\}}`, :math:`-\mathrm{out}_e` is
    the sheaf Laplacian's block :math:`L_{vu}`, and with :math:`l_e = s_v`, :math:`r_e = s_u` that of the
    degree-normalised Laplacian when the degrees are diagonal (orthogonal maps). One fused kernel reads
    both blocks of every edge and writes the product (no ``[E, d, d]`` gather of the reverse blocks, no
    separate scaling passes); the backward pass gives each edge the gradient of both products its block
    enters, :math:`\bar B_e = B_{e'}\big(\operatorname{diag}(l_e) \bar O_e \operatorname{diag}(r_e)
    + (\operatorname{diag}(l_{e'}) \bar O_{e'} \operatorname{diag}(r_{e'}))^\top\big)`, read from the
    reverse edge rather than added with atomics.

    Args:
        index: a symmetric graph (:func:`~geomlearn.sparse.reverse_edges` pairs the edges).
        blocks: ``[E, d, d]``.
        left, right: ``[E, d]`` row and column scales, both or neither.

    Returns:
        ``[E, d, d]``.

    Raises:
        ValueError: ``blocks`` not ``[E, d, d]``, scales not ``[E, d]`` or only one of them, or a graph
            that is not symmetric.
        TypeError: ``blocks`` or the scales not floating point, or of different dtypes.
    """
    check_index(index)
    check_float("blocks", blocks)
    check_device("blocks", blocks, index)
    if blocks.dim() != 3 or blocks.shape[0] != index.num_edges or blocks.shape[1] != blocks.shape[2]:
        raise ValueError(f"blocks: expected [E, d, d] with E = {index.num_edges}, got {list(blocks.shape)}")
    if (left is None) != (right is None):
        raise ValueError("left, right: expected both row and column scales or neither, got "
                         f"{'left' if right is None else 'right'} alone")
    for name, scale in (("left", left), ("right", right)):
        if scale is not None:
            check_float(name, scale)
            check_like(name, scale, blocks, "blocks", index)
            if tuple(scale.shape) != tuple(blocks.shape[:2]):
                raise ValueError(f"{name}: expected [E, d] = {list(blocks.shape[:2])} scales, got {list(scale.shape)}")
    scales = (None, None) if left is None else (left.contiguous(), right.contiguous())
    return reverse_block_product_op(reverse_edges(index), blocks.contiguous(), *scales)


def block_gram(blocks: Tensor) -> Tensor:
    r"""The Gram matrix of every block, :math:`\mathrm{out}_e = B_e^\top B_e` (``[E, d, d]`` from ``[E, d, d]``).

    The sheaf Laplacian's degree blocks are sums of these, :math:`D_v = \sum_{e \ni v} F^\top F`. It is the
    product of :func:`reverse_block_product` with every block paired with itself, so it runs on the same fused
    kernels (numba, Triton) and its backward pass :math:`\bar B_e = B_e (\bar O_e + \bar O_e^\top)` is one pass
    too: a batched matmul of ``d x d`` blocks (``torch.bmm``) is several times slower for the small ``d`` of
    sheaves and stores nothing less.

    Raises:
        TypeError: ``blocks`` not a floating-point tensor.
        ValueError: ``blocks`` not ``[E, d, d]``.
    """
    check_float("blocks", blocks)
    if blocks.dim() != 3 or blocks.shape[1] != blocks.shape[2]:
        raise ValueError(f"blocks: expected [E, d, d] square blocks, got {list(blocks.shape)}")
    itself = torch.arange(blocks.shape[0], device=blocks.device)
    return reverse_block_product_op(itself, blocks.contiguous(), None, None)
