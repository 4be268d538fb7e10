r"""Rotating irreps features into the frame of an edge, in :math:`O(L^3)` with two fixed matrix products.

For a unit vector :math:`\hat r = (\sin\beta \sin\alpha, \cos\beta, \sin\beta \cos\alpha)` (e3nn's axes: polar
axis :math:`y`, azimuth :math:`\alpha` from :math:`z` towards :math:`x`) the rotation
:math:`R = R_x(-\beta)\, R_y(-\alpha)` takes :math:`\hat r` to :math:`\hat y`. Rotations about :math:`y` act on the
harmonics by :math:`2 \times 2` rotations of each pair :math:`(m, -m)` by :math:`m\gamma`; rotations about
:math:`x` are those conjugated by the fixed :math:`J = D(Q)`, :math:`Q` the quarter turn about :math:`z` taking
:math:`\hat y` to :math:`\hat x`:

.. math::
    D(R) = J\, D_y(-\beta)\, J^\top D_y(-\alpha).

Applied to row-vector features ``[E, C, n]`` this is two elementwise pair rotations and two products with
the constant block-diagonal :math:`J` (one matrix product over all edges each): no per-edge Wigner matrix is
formed. The frame is degenerate at :math:`\hat r = \pm \hat y` (any :math:`\alpha` is right); the azimuth's
radius is floored there.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from e3nn.o3 import Irreps
from torch import Tensor

from .wigner import wigner_D_from_matrix


@lru_cache(maxsize=None)
def _layout(irreps: Irreps) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """For the compact layout of one copy of each irrep of ``irreps``: ``(|m|, sign of the partner term,
    partner position, block-diagonal J [n, n])`` (float64, CPU)."""
    orders, signs, partners, blocks, start = [], [], [], [], 0
    quarter_turn = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    for _, ir in irreps:
        for m in range(-ir.l, ir.l + 1):
            orders.append(abs(m))
            # (D_y(g) x)_m = cos(m g) x_m - sin(m g) x_{-m} for m > 0, sin(|m| g) x_{|m|} + cos(|m| g) x_m for m < 0
            signs.append(-1.0 if m > 0 else 1.0 if m < 0 else 0.0)
            partners.append(start + ir.l - m)
        blocks.append(wigner_D_from_matrix(ir.l, quarter_turn))
        start += ir.dim
    return (torch.tensor(orders, dtype=torch.float64), torch.tensor(signs, dtype=torch.float64),
            torch.tensor(partners), torch.block_diag(*blocks))


class EdgeRotation:
    r"""The rotations of a batch of edges for features of one copy of ``irreps`` per channel:
    :meth:`to_edge` (:math:`x \mapsto D(R) x`) and :meth:`from_edge` (:math:`D(R)^\top`), on ``[E, C, n]``."""

    def __init__(self, irreps: Irreps, vectors: Tensor):
        orders, signs, partners, j = _layout(irreps)
        dtype, device = vectors.dtype, vectors.device
        self.partners = partners.to(device)
        self.j = j.to(dtype=dtype, device=device)
        x, y, z = (vectors / vectors.norm(dim=1, keepdim=True)).unbind(1)
        radius = torch.sqrt(x * x + z * z).clamp_min(torch.finfo(dtype).eps)
        self.alpha = torch.atan2(x / radius, z / radius)
        self.beta = torch.atan2(radius, y)
        self.orders, self.signs = orders.to(dtype=dtype, device=device), signs.to(dtype=dtype, device=device)

    def _about_y(self, x: Tensor, angle: Tensor, transpose: bool) -> Tensor:
        """:math:`x D_y(\\gamma)^\\top` (rows rotated by :math:`D_y(\\gamma)`), or :math:`x D_y(\\gamma)` when
        ``transpose``, for per-edge angles ``[E]``."""
        phase = angle.unsqueeze(1) * self.orders                                       # [E, n]
        sine = torch.sin(phase) * (-self.signs if transpose else self.signs)
        partners = torch.gather(x, -1, self.partners.expand(x.shape))                  # faster than x[..., idx]
        return x * torch.cos(phase).unsqueeze(1) + partners * sine.unsqueeze(1)

    def to_edge(self, x: Tensor) -> Tensor:
        """``[E, C, n]``: :math:`D(R) x` per row, the features in the edge's frame (edge along :math:`\\hat y`)."""
        x = self._about_y(x, -self.alpha, transpose=False) @ self.j
        return self._about_y(x, -self.beta, transpose=False) @ self.j.T

    def from_edge(self, x: Tensor) -> Tensor:
        """``[E, C, n]``: :math:`D(R)^\\top x` per row, back to the global frame."""
        x = self._about_y(x @ self.j, -self.beta, transpose=True) @ self.j.T
        return self._about_y(x, -self.alpha, transpose=True)
