r"""Real spherical harmonics in e3nn's convention, any degree, batched, from polynomial recurrences.

For a vector :math:`r = (x, y, z)` the harmonics of degree :math:`l` are ``2l + 1`` homogeneous polynomials
of degree :math:`l` (on the unit sphere with ``normalize=True``), ordered :math:`m = -l, \dots, l`, with
e3nn's axes: :math:`y` is the polar axis and the azimuth runs in the :math:`(z, x)` plane, i.e. the
standard real harmonics of the textbook tables evaluated at :math:`(X, Y, Z) = (z, x, y)`:

.. math::
    Y_l^m(r) = N_l^{|m|} \, Q_l^{|m|}(Z, |r|^2) \, \begin{cases}
        \operatorname{Re} (X + iY)^m & m > 0 \\ 1 & m = 0 \\ \operatorname{Im} (X + iY)^{|m|} & m < 0
    \end{cases}, \qquad
    N_l^m = \sqrt{\frac{2l + 1}{4 \pi} \frac{(l - m)!}{(l + m)!}}
        \cdot \begin{cases} \sqrt 2 & m > 0 \\ 1 & m = 0 \end{cases}

with :math:`Q_l^m` the associated Legendre functions divided by :math:`\sin^m\theta` (polynomials in
:math:`Z` and :math:`|r|^2`, by the three-term recurrence in :math:`l`) and no Condon-Shortley phase.
Normalisations as e3nn's: ``"component"`` (:math:`\lVert Y^l \rVert^2 = 2l + 1` on the sphere),
``"norm"`` (:math:`\lVert Y^l \rVert = 1`), ``"integral"`` (:math:`\int_{S^2} (Y_l^m)^2 = 1`). Equivariant:
:math:`Y^l(R r) = D^l(R) Y^l(r)` (:func:`~geomlearn.equivariant.wigner_D`), and
:math:`Y^l(-r) = (-1)^l Y^l(r)`.
"""

from __future__ import annotations

import math
from typing import Iterable, Union

import torch
from torch import Tensor

from e3nn.o3 import Irreps

from ..argument_checks import is_int
from .irreps import as_irreps

NORMALIZATIONS = ("component", "norm", "integral")


def _degrees(l: Union[int, Iterable[int], str, Irreps], input_parity: int = -1) -> list[int]:
    """The degrees ``l`` names: a degree, a list of them, or e3nn ``Irreps`` (or its string), each irrep repeated
    by its multiplicity and of the parity ``input_parity ** l`` (``-1`` for vectors, e3nn's ``1o``)."""
    if isinstance(l, (str, Irreps)):
        irreps = as_irreps(l, "l")
        for mul, (degree, parity) in irreps:
            if parity != input_parity ** degree:
                raise ValueError(f"l: the harmonics of degree {degree} of a vector with parity {input_parity} have "
                                 f"parity {input_parity ** degree}, got {mul}x{degree}{'e' if parity == 1 else 'o'}")
        degrees = [degree for mul, (degree, _) in irreps for _ in range(mul)]
    else:
        degrees = [l] if isinstance(l, int) else list(l)
    if not degrees or any(not is_int(v) or v < 0 for v in degrees):
        raise ValueError(f"l: expected a degree >= 0, a non-empty list of them or Irreps, got {l!r}")
    return degrees


def _legendre_constants(lmax: int) -> dict[tuple[int, int], float]:
    r""":math:`N_l^m` (the ``"integral"`` normalisation) for :math:`0 \le m \le l \le` ``lmax``."""
    out = {}
    for l in range(lmax + 1):
        for m in range(l + 1):
            base = (2 * l + 1) / (4 * math.pi) * math.exp(math.lgamma(l - m + 1) - math.lgamma(l + m + 1))
            out[(l, m)] = math.sqrt(base) * (math.sqrt(2.0) if m else 1.0)
    return out


def _scaled_legendre(lmax: int, z: Tensor, squared: Tensor) -> list[list[Tensor]]:
    r"""``q[l][m]`` :math:`= Q_l^m(z, |r|^2)`, :math:`0 \le m \le l \le` ``lmax``: the associated Legendre
    functions without Condon-Shortley phase divided by :math:`\sin^m \theta`, by the three-term recurrence in
    :math:`l` at fixed :math:`m`."""
    q = [[None] * (k + 1) for k in range(lmax + 1)]
    for m in range(lmax + 1):
        q[m][m] = torch.full_like(z, float(math.prod(range(1, 2 * m, 2))))          # (2m - 1)!!
        if m + 1 <= lmax:
            q[m + 1][m] = (2 * m + 1) * z * q[m][m]
        for k in range(m + 2, lmax + 1):
            q[k][m] = ((2 * k - 1) * z * q[k - 1][m] - (k + m - 1) * squared * q[k - 2][m]) / (k - m)
    return q


def legendre_table(lmax: int, theta: Tensor) -> Tensor:
    r"""``[2 lmax + 1, lmax + 1, T]``: entry ``[m + lmax, l]`` is the polar factor of e3nn's
    component-normalised :math:`Y_l^m` at polar angles ``theta [T]`` (zero for :math:`l < |m|`), so that
    :math:`Y_l^m(\theta, \varphi) = P[m, l](\theta)\, a_m(\varphi)` with :math:`a_m = \cos m\varphi`
    (:math:`m > 0`), 1, :math:`\sin |m| \varphi` (:math:`m < 0`), :math:`\theta` measured from e3nn's polar
    axis :math:`y` and :math:`\varphi` from :math:`z` towards :math:`x`. ``theta`` may run over the whole
    circle (the factor is then a trigonometric polynomial of degree :math:`l`)."""
    cos, sin = torch.cos(theta), torch.sin(theta)
    q = _scaled_legendre(lmax, cos, torch.ones_like(cos))
    constants = _legendre_constants(lmax)
    table = theta.new_zeros(2 * lmax + 1, lmax + 1, theta.shape[0])
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            table[m + lmax, l] = math.sqrt(4 * math.pi) * constants[(l, abs(m))] * q[l][abs(m)] * sin ** abs(m)
    return table


def spherical_harmonics(l: Union[int, Iterable[int], str, Irreps], x: Tensor, normalize: bool = True,
                        normalization: str = "integral") -> Tensor:
    r"""The real spherical harmonics of the degrees ``l`` at ``x [..., 3]``: ``[..., sum(2l + 1)]``, degrees
    concatenated in the order given. e3nn's ``spherical_harmonics(l, x, normalize, normalization="integral")``:
    the same arguments, default and values, also beyond e3nn's largest degree.

    Args:
        l: a degree, a list of degrees (e.g. ``range(L + 1)`` for all up to ``L``), or e3nn ``Irreps`` (or its
            string, ``"0e + 1o + 2e"``), each irrep repeated by its multiplicity; an irrep's parity must be
            :math:`(-1)^l`.
        x: ``[..., 3]`` Cartesian vectors.
        normalize: evaluate at :math:`r / |r|` (a zero vector gives zeros for :math:`l > 0`, as e3nn, with a zero
            gradient); otherwise the harmonics are the homogeneous polynomials, :math:`|r|^l` times their values at
            the direction.
        normalization: ``"integral"`` (e3nn's default for this function), ``"component"`` (the default of
            e3nn's ``SphericalHarmonics`` module and of geomlearn's models) or ``"norm"``.

    Raises:
        ValueError: a negative degree, an irrep of the wrong parity, an unknown normalisation, ``x`` not
            ``[..., 3]`` floating point.
    """
    degrees = _degrees(l)
    vectors = x
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got {normalization!r}")
    if not isinstance(vectors, Tensor) or vectors.dim() < 1 or vectors.shape[-1] != 3 or \
            not vectors.is_floating_point():
        shape = list(vectors.shape) if isinstance(vectors, Tensor) else type(vectors).__name__
        raise ValueError(f"x: expected floating-point vectors [..., 3], got {shape}")
    if normalize:
        # r / |r|, and exactly 0 (value and gradient) for the zero vector: the inner where keeps its division
        # finite, the outer one passes no gradient through it
        length = vectors.norm(dim=-1, keepdim=True)
        nonzero = length > 0
        vectors = torch.where(nonzero, vectors / torch.where(nonzero, length, 1.0), 0.0)
    x, y, z = vectors.unbind(-1)
    big_x, big_y, big_z = z, x, y                        # e3nn's axes: y polar, azimuth in the (z, x) plane
    # |r|^2 of what is evaluated: 1 on the sphere and 0 at the zero vector, where every degree l > 0 vanishes
    squared = big_x * big_x + big_y * big_y + big_z * big_z
    lmax = max(degrees)
    # Re / Im of (X + iY)^m: the azimuthal factors times sin^m(theta) |r|^m.
    cosines, sines = [torch.ones_like(big_x)], [torch.zeros_like(big_x)]
    for _ in range(lmax):
        c, s = cosines[-1], sines[-1]
        cosines.append(big_x * c - big_y * s)
        sines.append(big_x * s + big_y * c)
    q = _scaled_legendre(lmax, big_z, squared)
    constants = _legendre_constants(lmax)
    scale = {"integral": lambda k: 1.0, "component": lambda k: math.sqrt(4 * math.pi),
             "norm": lambda k: math.sqrt(4 * math.pi / (2 * k + 1))}[normalization]
    columns = []
    for k in degrees:
        s = scale(k)
        for m in range(-k, k + 1):
            factor = sines[-m] if m < 0 else cosines[m]
            columns.append((s * constants[(k, abs(m))]) * q[k][abs(m)] * factor)
    return torch.stack(columns, dim=-1)


class SphericalHarmonics(torch.nn.Module):
    r"""e3nn's ``SphericalHarmonics`` module: :func:`spherical_harmonics` with its degrees and options fixed.

    Args:
        irreps_out: the degrees, as :func:`spherical_harmonics`'s ``l`` (an int, a list, ``Irreps`` or a string).
        normalize: evaluate at :math:`r / |r|`.
        normalization: ``"integral"`` (default), ``"component"`` or ``"norm"``.
        irreps_in: the input's irreps, ``"1o"`` (a vector, default) or ``"1e"`` (a pseudovector, whose harmonics
            are all even).

    Shapes:
        - input: ``x [..., 3]``
        - output: ``[..., irreps_out.dim]``
    """

    def __init__(self, irreps_out: Union[int, Iterable[int], str, Irreps], normalize: bool,
                 normalization: str = "integral", irreps_in=None):
        super().__init__()
        irreps_in = as_irreps("1o" if irreps_in is None else irreps_in, "irreps_in")
        if irreps_in not in (Irreps("1o"), Irreps("1e")):
            raise ValueError(f"irreps_in: expected '1o' or '1e', got '{irreps_in}'")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got {normalization!r}")
        input_parity = irreps_in[0].ir.p
        self._degrees = _degrees(irreps_out, input_parity)
        self.irreps_in = irreps_in
        self.irreps_out = as_irreps(irreps_out, "irreps_out") if isinstance(irreps_out, (str, Irreps)) else \
            Irreps([(1, (degree, input_parity ** degree)) for degree in self._degrees])
        self.normalize, self.normalization = normalize, normalization

    def forward(self, x: Tensor) -> Tensor:
        return spherical_harmonics(self._degrees, x, self.normalize, self.normalization)

    def extra_repr(self) -> str:
        return f"{self.irreps_out}, normalize={self.normalize}, normalization={self.normalization!r}"
