r"""Matrix-product-state classifier (Stoudenmire & Schwab, NeurIPS 2016), trained by autodiff.

Each input feature :math:`x_j \in [0, 1]` is mapped to :math:`\phi(x_j) = (\cos(\pi x_j / 2), \sin(\pi x_j / 2))`,
and the class scores are the contraction of the product state with an MPS whose middle core carries the label:

.. math::
    f_\ell(x) = \sum_{s_1 \dots s_N} W^{\ell}_{s_1 \dots s_N}\, \phi(x_1)_{s_1} \cdots \phi(x_N)_{s_N},
    \qquad W^{\ell} = A^{(1)}_{s_1} \cdots A^{(m)}_{s_m \ell} \cdots A^{(N)}_{s_N},

with cores :math:`A^{(j)} \in \mathbb{R}^{D \times 2 \times D}` (bond dimension :math:`D`, boundary bonds 1).
The contraction runs from both ends towards the label core, one :math:`[B, D] \times [D, 2D]` product per
feature. A product of hundreds of matrices spans too many orders of magnitude for float32, so each partial
contraction is divided by its norm as it goes: the scores are :math:`f(x)` up to a positive factor per
sample (the predicted class is unchanged), returned as :math:`\tau f(x) / \|f(x)\|` with a learned
temperature :math:`\tau` for the cross-entropy. Cores start near the identity (both physical slices
:math:`I + \mathcal N(0, \sigma^2)`), so the first scores neither vanish nor explode.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..argument_checks import check_int


class MPSClassifier(torch.nn.Module):
    """``x [B, num_features]`` in ``[0, 1]`` -> class scores ``[B, num_classes]``.

    Args:
        num_features: ``N``, the sites of the chain (e.g. the pixels, in the order given).
        num_classes: the label core's extra index.
        bond_dim: ``D``.
        init_std: :math:`\\sigma` of the cores' noise around the identity.
    """

    def __init__(self, num_features: int, num_classes: int, bond_dim: int, init_std: float = 1e-2):
        super().__init__()
        for name, value, least in (("num_features", num_features, 2), ("num_classes", num_classes, 2),
                                   ("bond_dim", bond_dim, 1)):
            check_int(name, value, least)
        self.num_features, self.num_classes, self.bond_dim = num_features, num_classes, bond_dim
        self.label_site = num_features // 2
        eye = torch.eye(bond_dim).unsqueeze(1).expand(bond_dim, 2, bond_dim)
        self.left = torch.nn.Parameter(eye.repeat(self.label_site, 1, 1, 1)
                                       + init_std * torch.randn(self.label_site, bond_dim, 2, bond_dim))
        right = num_features - self.label_site - 1
        self.right = torch.nn.Parameter(eye.repeat(right, 1, 1, 1)
                                        + init_std * torch.randn(right, bond_dim, 2, bond_dim))
        self.label = torch.nn.Parameter(eye.unsqueeze(2).repeat(1, 1, num_classes, 1)
                                        + init_std * torch.randn(bond_dim, 2, num_classes, bond_dim))
        self.log_temperature = torch.nn.Parameter(torch.tensor(math.log(10.0)))

    @staticmethod
    def feature_map(x: Tensor) -> Tensor:
        """:math:`\\phi(x) = (\\cos(\\pi x / 2), \\sin(\\pi x / 2))`, ``[B, N] -> [B, N, 2]``."""
        angle = 0.5 * math.pi * x
        return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)

    @staticmethod
    def _sweep(phi: Tensor, cores: Tensor) -> Tensor:
        """Contract ``phi [B, n, 2]`` with ``cores [n, D, 2, D]`` from the first site on, ``[B, D]``: the first
        bond is summed with a vector of ones (a boundary bond of 1 spread over the identity-like core)."""
        batch, dim = phi.shape[0], cores.shape[1]
        v = phi.new_ones(batch, dim) / math.sqrt(dim)
        for site in range(cores.shape[0]):
            step = (v @ cores[site].reshape(dim, -1)).view(batch, 2, dim)
            v = torch.einsum("bs,bsd->bd", phi[:, site], step)
            v = v / torch.linalg.vector_norm(v, dim=1, keepdim=True).clamp_min(1e-30)
        return v

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.num_features:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected [B, {self.num_features}] features in [0, 1], got {shape}")
        phi = self.feature_map(x)
        left = self._sweep(phi[:, :self.label_site], self.left)
        right = self._sweep(phi[:, self.label_site + 1:].flip(1), self.right.flip(0).transpose(1, 3))
        scores = torch.einsum("bd,bs,dsle,be->bl", left, phi[:, self.label_site], self.label, right)
        scores = scores / torch.linalg.vector_norm(scores, dim=1, keepdim=True).clamp_min(1e-30)
        return self.log_temperature.exp() * scores

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, num_classes={self.num_classes}, bond_dim={self.bond_dim}"
