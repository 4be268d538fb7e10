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


def _kinds(func: Callable, kinds, attribute: str, name: str) -> list:
    """One kind per argument (or output): ``kinds`` as given, else the function's attribute of that name (for the
    inputs of a two-input product, its ``irreps_in1`` and ``irreps_in2``, as e3nn reads them)."""
    if kinds is None:
        kinds = getattr(func, attribute, None)
        if kinds is None and attribute == "irreps_in" and hasattr(func, "irreps_in1"):
            kinds = [func.irreps_in1, func.irreps_in2]
        if kinds is None:
            raise ValueError(f"{name}: not given, and the function has no {attribute} attribute")
    single = kinds is None or isinstance(kinds, (str, Irreps))
    kinds = [kinds] if single else list(kinds)
    return [k if k in (None, CARTESIAN_POINTS) else as_irreps(k, name) for k in kinds]


def _random_inputs(kinds: list, generator: torch.Generator | None) -> list[Tensor]:
    inputs = []
    for position, kind in enumerate(kinds):
        if kind is None:
            raise ValueError(f"args_in: needed when an input is left alone (irreps_in[{position}] is None)")
        dim = 3 if kind == CARTESIAN_POINTS else kind.dim
        inputs.append(torch.randn(4, dim, dtype=torch.float64, generator=generator))
    return inputs


def equivariance_error(func: Callable, args_in: Sequence, irreps_in=None, irreps_out=None, ntrials: int = 1,
                       do_parity: bool = True, do_translation: bool = True,
                       generator: torch.Generator | None = None) -> dict[tuple[int, bool], float]:
    r"""e3nn's ``equivariance_error``: the largest :math:`|f(g x) - g f(x)|` over ``ntrials`` random rotations,
    each also composed with the inversion (``do_parity``) and with a random translation of the
    ``"cartesian_points"`` arguments (``do_translation``, when there are some), keyed by ``(parity_k,
    did_translate)``.

    Args:
        func: the function; ``irreps_in`` / ``irreps_out`` default to its attributes of those names.
        args_in: the arguments.
        irreps_in: one kind per argument: ``Irreps`` (or a string), ``"cartesian_points"`` or ``None`` (left alone).
        irreps_out: one kind, or one per output for a function returning a tuple; ``None`` (and no attribute) for an
            invariant output.
        ntrials: random rotations.
        do_parity: also test the improper rotations :math:`-R`.
        do_translation: also shift the points by a random vector.
        generator: the random rotations' generator.
    """
    kinds_in = _kinds(func, irreps_in, "irreps_in", "irreps_in")
    irreps_out = irreps_out if irreps_out is not None else getattr(func, "irreps_out", None)
    single = irreps_out is None or isinstance(irreps_out, (str, Irreps))
    kinds_out = [None] if irreps_out is None else _kinds(func, irreps_out, "irreps_out", "irreps_out")
    if len(args_in) != len(kinds_in):
        raise ValueError(f"irreps_in: expected one kind per argument ({len(args_in)}), got {len(kinds_in)}")
    reference = func(*args_in)
    reference = [reference] if single else list(reference)
    translations = (False, True) if do_translation and CARTESIAN_POINTS in kinds_in else (False,)
    errors: dict[tuple[int, bool], float] = {}
    for rotation in random_orthogonal(ntrials, reflections=False, generator=generator):
        for parity_k in ((0, 1) if do_parity else (0,)):
            matrix = rotation * (-1) ** parity_k
            for translate in translations:
                shift = torch.randn(3, dtype=torch.float64, generator=generator) if translate \
                    else torch.zeros(3, dtype=torch.float64)
                outputs = func(*(_transform(a, k, matrix, shift) for a, k in zip(args_in, kinds_in)))
                outputs = [outputs] if single else list(outputs)
                worst = errors.get((parity_k, translate), 0.0)
                for out, ref, kind in zip(outputs, reference, kinds_out):
                    expected = _transform(ref, kind, matrix, shift)
                    worst = max(worst, float((out - expected).detach().abs().max()) if out.numel() else 0.0)
                errors[(parity_k, translate)] = worst
    return errors


def assert_equivariant(func: Callable, args_in: Sequence | None = None, irreps_in=None, irreps_out=None,
                       tolerance: float | None = None, **kwargs) -> dict[tuple[int, bool], float]:
    """e3nn's ``assert_equivariant``: raise ``AssertionError`` when an ``equivariance_error`` exceeds
    ``tolerance``; returns the errors. Without ``args_in``, random inputs of the kinds of ``irreps_in``.

    One deliberate difference: the default tolerance follows the arguments' dtype (1e-10 in float64, 1e-4 in
    float32), where e3nn's follows ``torch.get_default_dtype()``.
    """
    if args_in is None:
        args_in = _random_inputs(_kinds(func, irreps_in, "irreps_in", "irreps_in"), kwargs.get("generator"))
    errors = equivariance_error(func, args_in, irreps_in, irreps_out, **kwargs)
    dtype = next((a.dtype for a in args_in if isinstance(a, Tensor) and a.is_floating_point()), torch.float64)
    limit = TOLERANCES.get(dtype, 1e-4) if tolerance is None else tolerance
    failing = {key: error for key, error in errors.items() if not error <= limit}
    if failing:
        details = ", ".join(f"parity_k={k}, translated={t}: {e:.3e}" for (k, t), e in sorted(failing.items()))
        raise AssertionError(f"equivariance error above {limit:.1e} ({details})")
    return errors
