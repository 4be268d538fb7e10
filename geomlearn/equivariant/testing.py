r"""``assert_equivariant``: check :math:`f(g \cdot x) = g \cdot f(x)` for random rotations and reflections.

A public helper (as e3nn's ``util.test.assert_equivariant``) so users test their own layers the way ours
are tested. Each argument is transformed according to what it is:

* an ``Irreps`` (or its string): features ``[..., irreps.dim]``, multiplied by :func:`irreps_D`;
* ``"cartesian_points"``: positions ``[..., 3]``, rotated (and, with ``translate=True``, shifted by one
  random vector; vector outputs such as forces are declared ``"1o"`` and so are not shifted);
* ``None``: left alone (a graph, a cutoff, atom types).
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
from e3nn.o3 import Irreps
from torch import Tensor

from .irreps import as_irreps
from .wigner import irreps_D

CARTESIAN_POINTS = "cartesian_points"
Kind = Union[None, str, Irreps]
# The largest error the tests of this library accept, by dtype.
TOLERANCES = {torch.float64: 1e-10, torch.float32: 1e-4}


def random_orthogonal(count: int, dtype: torch.dtype = torch.float64, reflections: bool = True,
                      generator: torch.Generator | None = None) -> Tensor:
    """``[count, 3, 3]`` uniformly random rotations (Q of a Gaussian matrix's QR with the sign fixed);
    with ``reflections`` every second one times -1 (determinant -1)."""
    gaussian = torch.randn(count, 3, 3, dtype=torch.float64, generator=generator)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    q = q * torch.linalg.det(q)[:, None, None]                        # proper rotations
    if reflections:
        q[1::2] = -q[1::2]
    return q.to(dtype)


def _transform(value, kind: Kind, matrix: Tensor, shift: Tensor):
    if kind is None:
        return value
    if kind == CARTESIAN_POINTS:
        return value @ matrix.transpose(-1, -2).to(value.dtype) + shift.to(value.dtype)
    return value @ irreps_D(kind, matrix.to(value.dtype)).transpose(-1, -2)


def equivariance_error(function: Callable, args: Sequence, kinds_in: Sequence[Kind],
                       kinds_out: Union[Kind, Sequence[Kind]], rotations: int = 4, reflections: bool = True,
                       translate: bool = False, generator: torch.Generator | None = None) -> float:
    r"""The largest :math:`|f(g x) - g f(x)|` over ``rotations`` random elements of O(3) (SO(3) without
    ``reflections``) and all outputs. ``kinds_out`` is one kind, or a sequence for a function returning a
    tuple."""
    if len(args) != len(kinds_in):
        raise ValueError(f"kinds_in: expected one kind per argument ({len(args)}), got {len(kinds_in)}")
    kinds_in = [k if k in (None, CARTESIAN_POINTS) else as_irreps(k, "kinds_in") for k in kinds_in]
    single = kinds_out is None or isinstance(kinds_out, (str, Irreps))
    kinds_out = [kinds_out] if single else list(kinds_out)
    kinds_out = [k if k in (None, CARTESIAN_POINTS) else as_irreps(k, "kinds_out") for k in kinds_out]
    reference = function(*args)
    reference = [reference] if single else list(reference)
    worst = 0.0
    for matrix in random_orthogonal(rotations, reflections=reflections, generator=generator):
        shift = torch.randn(3, dtype=torch.float64, generator=generator) if translate \
            else torch.zeros(3, dtype=torch.float64)
        outputs = function(*(_transform(a, k, matrix, shift) for a, k in zip(args, kinds_in)))
        outputs = [outputs] if single else list(outputs)
        for out, ref, kind in zip(outputs, reference, kinds_out):
            expected = _transform(ref, kind, matrix, shift)
            worst = max(worst, float((out - expected).detach().abs().max()) if out.numel() else 0.0)
    return worst


def assert_equivariant(function: Callable, args: Sequence, kinds_in: Sequence[Kind],
                       kinds_out: Union[Kind, Sequence[Kind]], atol: float | None = None, **options) -> float:
    """Raise ``AssertionError`` when ``equivariance_error`` exceeds ``atol`` (default by the outputs'
    dtype: 1e-10 in float64, 1e-4 in float32); returns the error."""
    error = equivariance_error(function, args, kinds_in, kinds_out, **options)
    dtype = next((a.dtype for a in args if isinstance(a, Tensor) and a.is_floating_point()), torch.float64)
    limit = TOLERANCES.get(dtype, 1e-4) if atol is None else atol
    if not error <= limit:
        raise AssertionError(f"equivariance error {error:.3e} exceeds {limit:.1e}")
    return error
