r"""Fourier-neural-operator spectral convolution with a factorised weight (TFNO, Kossaifi et al., 2023).

For a signal :math:`x \in \mathbb{R}^{C_\text{in} \times N_1 \times \dots \times N_d}`, the layer keeps the
lowest :math:`m_k` frequencies of each dimension (both signs for :math:`k < d`, the non-negative ones of the
last, real-FFT dimension) and mixes channels per frequency:

.. math::
    \hat y_{o, \xi} = \sum_i W_{i o \xi}\, \hat x_{i, \xi}, \qquad y = \mathcal{F}^{-1}(\hat y),

with the other frequencies set to zero. The complex weight
:math:`W \in \mathbb{C}^{C_\text{in} \times C_\text{out} \times 2m_1 \times \dots \times 2m_{d-1} \times m_d}` is one
global low-rank tensor (CP, Tucker or TT: :class:`~geomlearn.tensor_networks.low_rank_weight.LowRankWeight`),
contracted with :math:`\hat x` as one network, never formed: a dense FNO layer holds
:math:`C_\text{in} C_\text{out} \prod_k (2) m_k` complex weights, the factorised one a small fraction of them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .low_rank_weight import LowRankWeight
from .tensor_network import TensorNetwork


class FactorizedSpectralConv(torch.nn.Module):
    """``x [B, in_channels, N_1, ..., N_d] -> [B, out_channels, N_1, ..., N_d]``.

    Args:
        in_channels, out_channels: :math:`C_\\text{in}`, :math:`C_\\text{out}`.
        modes: :math:`(m_1, \\dots, m_d)`, the frequencies kept per dimension (``2 m_k <= N_k`` for ``k < d``,
            ``m_d <= N_d / 2 + 1``).
        rank: of the weight tensor (int, tuple or fraction).
        factorization: ``"cp"``, ``"tucker"`` or ``"tt"``.
    """

    def __init__(self, in_channels: int, out_channels: int, modes, rank, factorization: str = "cp"):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, tuple(modes)
        if not self.modes or not all(isinstance(m, int) and m >= 1 for m in self.modes):
            raise ValueError(f"modes: expected one int >= 1 per spatial dimension, got {modes!r}")
        shape = (in_channels, out_channels, *(2 * m for m in self.modes[:-1]), self.modes[-1])
        self.weight = LowRankWeight(shape, rank, factorization, std=1 / (in_channels * out_channels) ** 0.5,
                                    dtype=torch.cfloat)

    def _frequencies(self, sizes) -> list[Tensor]:
        """Per spatial dimension the kept frequencies' positions in the (r)FFT."""
        out = []
        for k, (m, n) in enumerate(zip(self.modes, sizes)):
            last = k == len(self.modes) - 1
            if (m > n // 2 + 1) if last else (2 * m > n):
                raise ValueError(f"x: dimension {k + 2} of size {n} cannot hold {m} modes "
                                 f"({'m <= N / 2 + 1' if last else '2 m <= N'})")
            out.append(torch.arange(m) if last else torch.cat([torch.arange(m), torch.arange(n - m, n)]))
        return out

    def forward(self, x: Tensor) -> Tensor:
        dims = len(self.modes)
        if not isinstance(x, Tensor) or x.dim() != dims + 2 or x.shape[1] != self.in_channels:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected [B, {self.in_channels}, {dims} spatial sizes], got {shape}")
        sizes = tuple(x.shape[2:])
        spatial = tuple(range(2, dims + 2))
        spectrum = torch.fft.rfftn(x, dim=spatial)
        grids = torch.meshgrid(*[f.to(x.device) for f in self._frequencies(sizes)], indexing="ij")
        selected = spectrum[(slice(None), slice(None), *grids)]                  # [B, C_in, 2m_1, ..., m_d]
        freqs = tuple(f"f{k}" for k in range(dims))
        cores, legs = self.weight.network(("i", "o", *freqs))
        cores = {name: core.to(spectrum.dtype) for name, core in cores.items()}
        mixed = TensorNetwork({"x": selected, **cores}, {"x": ("b", "i", *freqs), **legs}, ("b", "o", *freqs))
        out = spectrum.new_zeros(x.shape[0], self.out_channels, *spectrum.shape[2:])
        out[(slice(None), slice(None), *grids)] = mixed.contract()
        return torch.fft.irfftn(out, s=sizes, dim=spatial)

    def extra_repr(self) -> str:
        dense = self.in_channels * self.out_channels * math.prod(2 * m for m in self.modes[:-1]) * self.modes[-1]
        return (f"{self.in_channels} -> {self.out_channels}, modes={list(self.modes)}, "
                f"parameters={self.weight.num_parameters} of {dense} dense")
