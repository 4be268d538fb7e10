r"""Sparse products whose per-edge operator is a fixed sparse coupling of edge features and channel weights.

One table of couplings :math:`t = (a_t, b_t, k_t, o_t, v_t)` defines, for source features
``x [num_src, C, n_in]``, edge features ``y [E, n_edge]``, per-edge channel weights ``w [E, n_weight, C]``
and target features ``z [num_dst, C, n_out]``, the multilinear form

.. math::
    F(x, y, w, z) = \sum_{e = (j \to i)} \sum_t \sum_u v_t\, x_{j u a_t}\, y_{e b_t}\, w_{e k_t u}\, z_{i u o_t}.

:func:`coupling_spmm` computes :math:`\partial F / \partial z`,

.. math::
    \mathrm{out}_{i u o} = \sum_{e = (j \to i)} \sum_{t:\, o_t = o} v_t\, x_{j u a_t}\, y_{e b_t}\, w_{e k_t u},

the message passing of an equivariant convolution (a Clebsch-Gordan product of the source features with
the edge's spherical harmonics, weighted per edge and channel, summed into the targets: see
:meth:`geomlearn.equivariant.CGTensorProduct.couplings`) without ever storing a per-edge ``[E, C, n_out]``
message or a gathered ``[E, C, n_in]`` input. Its derivatives are the other three partial derivatives of
:math:`F`, which, :math:`F` being linear in each argument, are again products of the same kind: the
gradient for ``x`` is the same walk over the transposed graph (table read by ``a``), the gradients for
``y`` and ``w`` are per-edge contractions; so every order of derivative (forces, and training on forces)
runs on the same two kernels.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_device, check_float, check_index, check_like, check_rows
from .index import IndexModifiedError, Sealed, SparseIndex
from .kernels import backend_for
from .spmm import layouts

ARGUMENTS = ("x", "y", "w", "z")


class Couplings:
    r"""A coupling table: ``T`` entries :math:`(a_t, b_t, k_t, o_t, v_t)` over positions of the source
    features (``a < n_in``), the edge features (``b < n_edge``), the weights (``k < n_weight``) and the
    target features (``o < n_out``).

    Args:
        in_pos, edge_pos, weight_pos, out_pos: integer tensors ``[T]``.
        values: ``[T]`` floating point.
        sizes: ``(n_in, n_edge, n_weight, n_out)``.

    The table is kept twice, sorted by ``o`` (the forward walk) and by ``a`` (the transposed walk), with
    the start of each position's entries (``ptr``), so a kernel can take a block of outputs at a time. Those
    are the table's own copies, sealed like a :class:`~geomlearn.sparse.SparseIndex`: an in-place edit of one
    of them makes the next :func:`coupling_spmm` raise :class:`~geomlearn.sparse.IndexModifiedError`.
    """

    def __init__(self, in_pos: Tensor, edge_pos: Tensor, weight_pos: Tensor, out_pos: Tensor, values: Tensor,
                 sizes: tuple[int, int, int, int]):
        columns = dict(in_pos=in_pos, edge_pos=edge_pos, weight_pos=weight_pos, out_pos=out_pos)
        if len(sizes) != 4 or any(not is_int(s) or s < 1 for s in sizes):
            raise ValueError(f"sizes: expected four ints >= 1 (n_in, n_edge, n_weight, n_out), got {sizes!r}")
        count = values.shape[0] if isinstance(values, Tensor) and values.dim() == 1 else None
        if count is None or not values.is_floating_point():
            raise ValueError(f"values: expected a floating-point tensor [T], got {values!r}")
        for (name, column), size in zip(columns.items(), sizes):
            if not isinstance(column, Tensor) or column.dtype not in (torch.int32, torch.int64) or \
                    column.shape != (count,):
                raise ValueError(f"{name}: expected an integer tensor [{count}] (one per value), got {column!r}")
            if count and not (0 <= int(column.min()) and int(column.max()) < size):
                raise ValueError(f"{name}: expected positions in [0, {size}), got [{int(column.min())}, "
                                 f"{int(column.max())}]")
        self.sizes = tuple(sizes)
        table = torch.stack([in_pos, edge_pos, weight_pos, out_pos]).long()
        self.by_out, self.by_out_values, self.by_out_ptr = _sorted(table, values, row=3, size=sizes[3])
        # The transposed walk reads z at a position of the table and writes x: its roles of a and o swap.
        self.by_in, self.by_in_values, self.by_in_ptr = _sorted(table[[3, 1, 2, 0]], values, row=3, size=sizes[0])
        self._seal()

    def _seal(self) -> None:
        self._sealed = Sealed("Couplings")
        for name in _TABLES:
            self._sealed.add(name, getattr(self, name))

    def check_intact(self) -> None:
        """Raise :class:`~geomlearn.sparse.IndexModifiedError` if a table was modified in place since it was built."""
        self._sealed.check()

    def __len__(self) -> int:
        return self.by_out.shape[1]

    def to(self, device=None, dtype=None) -> "Couplings":
        """The table on ``device`` with values of ``dtype``."""
        self.check_intact()
        moved = object.__new__(Couplings)
        moved.sizes = self.sizes
        for name in _TABLES:
            tensor = getattr(self, name)
            setattr(moved, name, tensor.to(device=device, dtype=dtype if tensor.is_floating_point() else None,
                                           copy=True))
        moved._seal()
        return moved

    def __repr__(self) -> str:
        n_in, n_edge, n_weight, n_out = self.sizes
        return f"Couplings({len(self)} entries, n_in={n_in}, n_edge={n_edge}, n_weight={n_weight}, n_out={n_out})"


_TABLES = ("by_out", "by_out_values", "by_out_ptr", "by_in", "by_in_values", "by_in_ptr")


def _check_table(table: Tensor, ptr: Tensor, sizes: tuple[int, int, int, int]) -> None:
    """Every position of ``table [4, T]`` (columns ``a, b, k, o``) lies below its size and ``ptr`` brackets the
    table: checked inside the op, so it holds in compiled graphs too (``O(T)``, a few hundred entries)."""
    count = table.shape[1]
    if count and (bool((table < 0).any()) or
                  bool((table.amax(dim=1) >= torch.tensor(sizes, device=table.device)).any())):
        raise IndexModifiedError(f"couplings: a table position lies outside the sizes {list(sizes)}; the table "
                                 f"was modified after it was built")
    if int(ptr[0]) != 0 or int(ptr[-1]) != count or bool((ptr[1:] < ptr[:-1]).any()):
        raise IndexModifiedError("couplings: the table's row starts are not non-decreasing from 0 to its length; "
                                 "the table was modified after it was built")


def _sorted(table: Tensor, values: Tensor, row: int, size: int) -> tuple[Tensor, Tensor, Tensor]:
    order = torch.argsort(table[row], stable=True)
    ptr = torch.zeros(size + 1, dtype=torch.long)
    ptr[1:] = torch.bincount(table[row], minlength=size).cumsum(0)
    return table[:, order].contiguous(), values[order].contiguous(), ptr


@torch.library.custom_op("geomlearn::coupling_derivative", mutates_args=())
def coupling_derivative_op(ptr: Tensor, idx: Tensor, eid: Tensor, tptr: Tensor, tidx: Tensor, teid: Tensor,
                           src: Tensor, dst: Tensor, by_out: Tensor, by_out_values: Tensor, by_out_ptr: Tensor,
                           by_in: Tensor, by_in_values: Tensor, by_in_ptr: Tensor, x: Optional[Tensor],
                           y: Optional[Tensor], w: Optional[Tensor], z: Optional[Tensor], wrt: int,
                           sizes: list[int]) -> Tensor:
    """:math:`\\partial F / \\partial` ``ARGUMENTS[wrt]`` (that argument is not read and may be None)."""
    kernels = backend_for(by_out_values.device)
    n_in, n_edge, n_weight, n_out = sizes
    _check_table(by_out, by_out_ptr, (n_in, n_edge, n_weight, n_out))
    _check_table(by_in, by_in_ptr, (n_out, n_edge, n_weight, n_in))
    if wrt in (0, 3):
        rows, cols, eids, node = (ptr, idx, eid, x) if wrt == 3 else (tptr, tidx, teid, z)
        kernels.check_indices("coupling_spmm", rows, cols.shape[0], idx=(cols, 0, node.shape[0]),
                              eid=(eids, 0, min(y.shape[0], w.shape[0])))
    if wrt == 3:
        return kernels.coupling_gather(ptr, idx, eid, by_out, by_out_values, by_out_ptr, x, y, w, sizes[3])
    if wrt == 0:
        return kernels.coupling_gather(tptr, tidx, teid, by_in, by_in_values, by_in_ptr, z, y, w, sizes[0])
    kernels.check_indices("coupling_spmm backward", src=(src, 0, x.shape[0]), dst=(dst, 0, z.shape[0]))
    return kernels.coupling_edges(src, dst, by_out, by_out_values, x, y, w, z, wrt == 2, sizes[wrt])


@coupling_derivative_op.register_fake
def _(ptr, idx, eid, tptr, tidx, teid, src, dst, by_out, by_out_values, by_out_ptr, by_in, by_in_values, by_in_ptr,
      x, y, w, z, wrt, sizes):
    node = x if x is not None else z
    if wrt == 3:
        return node.new_empty((ptr.shape[0] - 1, node.shape[1], sizes[3]))
    if wrt == 0:
        return node.new_empty((tptr.shape[0] - 1, node.shape[1], sizes[0]))
    if wrt == 1:
        return node.new_empty((src.shape[0], sizes[1]))
    return node.new_empty((src.shape[0], sizes[2], node.shape[1]))


_FIRST = 14  # position of x in the op's inputs; y, w, z follow


def _setup_context(ctx, inputs, output):
    ctx.wrt, ctx.sizes = inputs[-2], inputs[-1]
    ctx.save_for_backward(*inputs[:-2])


def _backward(ctx, grad):
    # F is linear in each argument: the gradient of dF/dq (upstream g) for another argument p is dF/dp
    # evaluated with q replaced by g.
    saved = list(ctx.saved_tensors)
    saved[_FIRST + ctx.wrt] = grad
    grads = [None] * (_FIRST + 6)
    for p in range(4):
        if p != ctx.wrt and ctx.needs_input_grad[_FIRST + p]:
            grads[_FIRST + p] = coupling_derivative_op(*saved, p, ctx.sizes)
    return tuple(grads)


coupling_derivative_op.register_autograd(_backward, setup_context=_setup_context)


def coupling_spmm(index: SparseIndex, couplings: Couplings, x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    r"""Per-edge coupled product summed into the targets (the module docstring's :math:`\partial F/\partial z`).

    .. math::
        \mathrm{out}_{i u o} = \sum_{e = (j \to i)} \sum_{t:\, o_t = o} v_t\, x_{j u a_t}\, y_{e b_t}\, w_{e k_t u}

    Args:
        index: the graph.
        couplings: the table (on the index's device; its values are cast to ``x``'s dtype).
        x: source features ``[num_src, C, n_in]``.
        y: edge features ``[E, n_edge]`` (e.g. spherical harmonics of the edge vectors).
        w: per-edge channel weights ``[E, n_weight, C]`` (e.g. from a radial network).

    Returns:
        ``[num_dst, C, n_out]``. Gradients (of every order) flow to ``x``, ``y`` and ``w``.
    """
    check_index(index)
    if not isinstance(couplings, Couplings):
        raise TypeError(f"couplings: expected a geomlearn.sparse.Couplings, got {type(couplings).__name__}")
    couplings.check_intact()
    n_in, n_edge, n_weight, n_out = couplings.sizes
    for name, value in (("x", x), ("y", y), ("w", w)):
        check_float(name, value)
        check_like(name, value, x, "x", index)
    check_device("couplings", couplings.by_out_values, index)
    if x.dim() != 3 or x.shape[2] != n_in:
        raise ValueError(f"x: expected [num_src, C, {n_in}] (n_in of the couplings), got {list(x.shape)}")
    check_rows("x", x, index.num_src, "one per source node")
    if y.shape != (index.num_edges, n_edge):
        raise ValueError(f"y: expected [{index.num_edges}, {n_edge}] (one row per edge, n_edge of the couplings), "
                         f"got {list(y.shape)}")
    if w.shape != (index.num_edges, n_weight, x.shape[1]):
        raise ValueError(f"w: expected [{index.num_edges}, {n_weight}, {x.shape[1]}] (per edge, n_weight of the "
                         f"couplings, the channels of x), got {list(w.shape)}")
    table = couplings.to(dtype=x.dtype) if couplings.by_out_values.dtype != x.dtype else couplings
    csr, csc = layouts(index, x.requires_grad)
    return coupling_derivative_op(*csr, *csc, index.src, index.dst, table.by_out, table.by_out_values,
                                  table.by_out_ptr, table.by_in, table.by_in_values, table.by_in_ptr,
                                  x, y, w, None, 3, list(couplings.sizes))
