r"""The Gaunt tensor product through 2D Fourier series (Luo, Chen & Zhang, ICLR 2024).

A function on the sphere with degrees up to :math:`L`, written in the angles :math:`(\theta, \varphi)`
(:math:`\theta` continued over the whole circle), is a 2D trigonometric polynomial,

.. math::
    f(\theta, \varphi) = \sum_m \Big(\sum_l x_{lm} P_l^m(\theta)\Big) a_m(\varphi)
    = \sum_{|u|, |v| \le L} F_{uv}\, e^{i (u \theta + v \varphi)}.

The conversion :math:`x \mapsto F` is sparse (order :math:`m` only feeds :math:`v = \pm m`, so
:math:`O(L^3)` as a batched matmul over :math:`m`); on CPU, at the degrees in use, one dense matmul with the
tabulated modes is faster and is what runs. The product of two
functions is the 2D convolution of their coefficients, done by FFT (:math:`O(L^2 \log L)`); the projection
back integrates each Fourier mode against the output harmonics,

.. math::
    z_{lm} = \frac{1}{4\pi} \sum_{u v} H_{uv} \int_0^{2\pi} e^{i v \varphi} a_m(\varphi)\, d\varphi
    \int_0^{\pi} e^{i u \theta} P_l^m(\theta) \sin\theta \, d\theta,

both integrals tabulated once. The result is the Gaunt product of
:mod:`~geomlearn.equivariant.sphere_product` (equal to :class:`~geomlearn.equivariant.GridTensorProduct`).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .grid_tensor_product import harmonics_on_grid, azimuth_table
from .sphere_product import SphereProduct
from .spherical_harmonics import legendre_table


def polar_fourier(lmax: int) -> Tensor:
    r"""``[2L + 1 (m), L + 1 (l), 2L + 1 (u)]`` complex: :math:`P_l^m(\theta) = \sum_u c_u e^{i u \theta}`,
    ``u = -L..L`` (from ``2L + 1`` samples over the circle, exact for a trigonometric polynomial of degree L)."""
    samples = 2 * lmax + 1
    theta = torch.arange(samples, dtype=torch.float64) * (2 * math.pi / samples)
    coefficients = torch.fft.fft(legendre_table(lmax, theta).to(torch.complex128), dim=-1) / samples
    return torch.fft.fftshift(coefficients, dim=-1)


def azimuth_fourier(lmax: int) -> Tensor:
    r"""``[2L + 1 (m), 2L + 1 (v)]`` complex: :math:`a_m(\varphi) = \sum_v c_v e^{i v \varphi}`."""
    samples = 2 * lmax + 1
    phi = torch.arange(samples, dtype=torch.float64) * (2 * math.pi / samples)
    return torch.fft.fftshift(torch.fft.fft(azimuth_table(lmax, phi).to(torch.complex128), dim=-1) / samples, dim=-1)


def projection_integrals(lmax_out: int, frequencies: int) -> tuple[Tensor, Tensor]:
    r"""``(Psi [2K + 1 (v), 2L + 1 (m)], Xi [2L + 1 (m), 2K + 1 (u), L + 1 (l)])`` complex, ``K = frequencies``:
    :math:`\Psi = \int_0^{2\pi} e^{i v \varphi} a_m\, d\varphi` (exact, uniform rule) and
    :math:`\Xi = \int_0^\pi e^{i u \theta} P_l^m(\theta) \sin\theta\, d\theta` (Gauss-Legendre in
    :math:`\theta`, converged to machine precision for these entire integrands), with :math:`1 / 4\pi`."""
    k = torch.arange(-frequencies, frequencies + 1, dtype=torch.float64)
    samples = 2 * (frequencies + lmax_out) + 1
    phi = torch.arange(samples, dtype=torch.float64) * (2 * math.pi / samples)
    psi = torch.exp(1j * k[:, None] * phi[None, :]) @ azimuth_table(lmax_out, phi).T.to(torch.complex128)
    psi = psi * (2 * math.pi / samples)
    nodes, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(2 * (frequencies + lmax_out) + 40))
    theta = (nodes + 1) * (math.pi / 2)
    weights = weights * (math.pi / 2) * torch.sin(theta)
    polar = legendre_table(lmax_out, theta).to(torch.complex128)                     # [2L + 1, L + 1, Q]
    waves = torch.exp(1j * k[:, None] * theta[None, :]) * weights                       # [2K + 1, Q]
    xi = torch.einsum("uq,mlq->mul", waves, polar) / (4 * math.pi)
    return psi, xi


class GauntTensorProduct(SphereProduct):
    """The Gaunt product by 2D Fourier conversion and convolution; arguments as
    :class:`~geomlearn.equivariant.TensorProductBase` (see :mod:`~geomlearn.equivariant.sphere_product` for the
    irreps it takes and its weights), and ``use_fft``: convolve the coefficient arrays with ``torch.fft``
    (for GPUs) instead of the DFT folded into the conversion matrices (faster on CPU)."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, shared_weights: bool = True,
                 internal_weights: Optional[bool] = None, use_fft: bool = False):
        super().__init__(irreps_in1, irreps_in2, irreps_out, shared_weights, internal_weights)
        self.use_fft = use_fft
        self.frequencies = self.lmax1 + self.lmax2
        self.fft_size = 2 * self.frequencies + 1
        # The batched FFTs of these tiny arrays are slow on CPU (torch's FFT of 10k 17 x 17 arrays takes longer
        # than the whole grid product), so by default the DFTs are folded into the conversions: the 2D FFT of
        # the zero-padded coefficients is the function's values on a uniform torus grid, N_t = 2K + 1 polar by
        # N_p = 2K + 2 azimuthal angles (even, so that phi + pi is on the grid). A function on the sphere has
        # f(2 pi - theta, phi) = f(theta, phi + pi), so only the rows theta <= pi are evaluated and the others'
        # share of the projection is folded onto them: half the work of the full torus.
        n = self.fft_size
        polar_count, azimuth_count = n, n + 1
        theta = torch.arange(polar_count, dtype=torch.float64) * (2 * math.pi / polar_count)
        phi = torch.arange(azimuth_count, dtype=torch.float64) * (2 * math.pi / azimuth_count)
        kept = self.frequencies + 1                                                       # theta_a, a = 0..K
        for name, lmax in (("1", self.lmax1), ("2", self.lmax2)):
            values = harmonics_on_grid(lmax, theta[:kept], phi).reshape((lmax + 1) ** 2, -1)
            self.register_buffer(f"_to_torus_{name}", values[getattr(self, f"_positions_{name}")], persistent=False)
            modes = torch.einsum("mlu,mv->lmuv", polar_fourier(lmax), azimuth_fourier(lmax))
            rows = torch.stack([modes[l, m + lmax] for l in range(lmax + 1) for m in range(-l, l + 1)])
            rows = rows[getattr(self, f"_positions_{name}")].reshape(-1, (2 * lmax + 1) ** 2)
            self.register_buffer(f"_to_fourier_{name}", rows, persistent=False)
        psi, xi = projection_integrals(self.lmax_out, self.frequencies)                  # [2K+1, m], [m, 2K+1, l]
        lmax = self.lmax_out
        order = [(l, m + lmax) for l in range(lmax + 1) for m in range(-l, l + 1)]
        positions = self._positions_out
        fourier = torch.stack([torch.einsum("v,u->uv", psi[:, m], xi[m, :, l]) for l, m in order], dim=-1)
        self.register_buffer("_from_fourier", fourier[..., positions].reshape(n * n, -1), persistent=False)
        # From torus values: H = DFT^{-1}(values), then the same projection; real because the values are.
        frequencies = torch.arange(-self.frequencies, self.frequencies + 1, dtype=torch.float64)
        polar = torch.einsum("au,mul->aml", torch.exp(-1j * theta[:, None] * frequencies) / polar_count, xi)
        azimuth = (torch.exp(-1j * phi[:, None] * frequencies) / azimuth_count) @ psi     # [b, m]
        torus = torch.stack([polar[:, m, l, None] * azimuth[None, :, m] for l, m in order], dim=-1).real
        torus = torus[..., positions]                                                      # [N_t, N_p, n_out]
        folded = torus[:kept].clone()
        mirrored = torus[kept:].flip(0)                                                    # theta_{N-a}, a = 1..K
        folded[1:] += mirrored.roll(azimuth_count // 2, dims=1)                            # ... at phi - pi
        self.register_buffer("_from_torus", folded.reshape(kept * azimuth_count, -1), persistent=False)

    def to_fourier(self, a: Tensor, name: str) -> Tensor:
        """``[Z, C, n] -> [Z, C, 2L + 1 (u), 2L + 1 (v)]`` complex coefficients, frequencies from ``-L``."""
        matrix = getattr(self, f"_to_fourier_{name}")
        matrix = matrix.to(torch.complex128 if a.dtype == torch.float64 else torch.complex64)
        side = int(round(matrix.shape[1] ** 0.5))
        return (a.to(matrix.dtype) @ matrix).reshape(*a.shape[:2], side, side)

    def multiply(self, a: Tensor, b: Tensor) -> Tensor:
        n = self.fft_size
        if not self.use_fft:
            values = (a @ self._to_torus_1.to(a.dtype)) * (b @ self._to_torus_2.to(b.dtype))
            return values @ self._from_torus.to(values.dtype)
        product = torch.fft.ifft2(torch.fft.fft2(self.to_fourier(a, "1"), s=(n, n)) *
                                  torch.fft.fft2(self.to_fourier(b, "2"), s=(n, n)))      # frequencies from -K
        return (product.reshape(*product.shape[:2], n * n) @ self._from_fourier.to(product.dtype)).real
