r"""The product on a spherical quadrature grid (Xie, Daigavane, Smidt et al., "The Price of Freedom").

Both features are evaluated on a product grid, Gauss-Legendre in :math:`\cos\theta` (``T`` nodes) times
uniform in :math:`\varphi` (``P`` nodes), multiplied pointwise, and projected back:

.. math::
    f(\theta_t, \varphi_p) = \sum_m \Big(\sum_l x_{lm} P_l^m(\theta_t)\Big) a_m(\varphi_p), \qquad
    z_{lm} = \frac{1}{4\pi} \sum_{t p} w_t \frac{2\pi}{P}\,
        f_1 f_2 (\theta_t, \varphi_p)\, P_l^m(\theta_t) a_m(\varphi_p),

each transform one matmul with the tabulated harmonics (:math:`O(L^4)` per channel; the separable
:math:`O(L^3)` route, a batched matmul over :math:`m` then one over :math:`\varphi`, loses to it on CPU for the
degrees in use because its matrices are tiny). With :math:`T = \lceil (L_1 + L_2 + L_{out} + 1) / 2 \rceil`
and :math:`P = L_1 + L_2 + L_{out} + 1` the quadrature is exact, so the result is the Gaunt product
(:mod:`~geomlearn.equivariant.sphere_product`), equal to :class:`~geomlearn.equivariant.GauntTensorProduct`.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .sphere_product import SphereProduct
from .spherical_harmonics import legendre_table


def azimuth_table(lmax: int, phi: Tensor) -> Tensor:
    r"""``[2 lmax + 1, P]``: :math:`a_m(\varphi)` = :math:`\cos m\varphi`, 1, :math:`\sin |m| \varphi` for
    :math:`m = -lmax..lmax` (row ``m + lmax``)."""
    m = torch.arange(-lmax, lmax + 1, dtype=phi.dtype).unsqueeze(1)
    return torch.where(m > 0, torch.cos(m * phi), torch.where(m < 0, torch.sin(-m * phi), torch.ones_like(m * phi)))


def harmonics_on_grid(lmax: int, theta: Tensor, phi: Tensor) -> Tensor:
    """``[(L + 1)^2, T, P]``: :math:`Y_l^m(\theta_t, \varphi_p) = P_l^m(\theta_t) a_m(\varphi_p)`."""
    polar, azimuth = legendre_table(lmax, theta), azimuth_table(lmax, phi)       # [2L + 1, L + 1, T], [2L + 1, P]
    rows = [polar[m + lmax, l, :, None] * azimuth[m + lmax] for l in range(lmax + 1) for m in range(-l, l + 1)]
    return torch.stack(rows)


class GridTensorProduct(SphereProduct):
    """The Gaunt product by pointwise multiplication on an exact spherical quadrature grid; arguments as
    :class:`~geomlearn.equivariant.TensorProductBase` (see :mod:`~geomlearn.equivariant.sphere_product` for the
    irreps it takes and its weights)."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, shared_weights: bool = True,
                 internal_weights: Optional[bool] = None):
        super().__init__(irreps_in1, irreps_in2, irreps_out, shared_weights, internal_weights)
        total = self.lmax1 + self.lmax2 + self.lmax_out
        self.grid_shape = (math.ceil((total + 1) / 2), total + 1)
        nodes, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(self.grid_shape[0]))
        theta = torch.arccos(nodes)
        phi = torch.arange(self.grid_shape[1], dtype=torch.float64) * (2 * math.pi / self.grid_shape[1])
        # Dense transforms: [(L + 1)^2, T P] to the grid, [T P, (L_out + 1)^2] back (quadrature weights and
        # 1 / 4 pi folded in). One matmul each is faster than the separable O(L^3) route up to L ~ 10 on CPU.
        for name, lmax in (("1", self.lmax1), ("2", self.lmax2), ("out", self.lmax_out)):
            values = harmonics_on_grid(lmax, theta, phi)                            # [(L + 1)^2, T, P]
            if name == "out":
                values = values * weights[:, None] * (2 * math.pi / self.grid_shape[1] / (4 * math.pi))
            matrix = values.reshape((lmax + 1) ** 2, -1)[getattr(self, f"_positions_{name}")]   # present degrees
            self.register_buffer(f"_to_grid_{name}" if name != "out" else "_from_grid", matrix if name != "out"
                                 else matrix.T.contiguous(), persistent=False)

    def to_grid(self, a: Tensor, name: str) -> Tensor:
        """``[Z, C, n] -> [Z, C, T P]``: the functions' values on the grid."""
        return a @ getattr(self, f"_to_grid_{name}").to(a.dtype)

    def from_grid(self, f: Tensor) -> Tensor:
        """``[Z, C, T P] -> [Z, C, n_out]``: the projection onto the output harmonics."""
        return f @ self._from_grid.to(f.dtype)

    def multiply(self, a: Tensor, b: Tensor) -> Tensor:
        return self.from_grid(self.to_grid(a, "1") * self.to_grid(b, "2"))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, grid={self.grid_shape}"
