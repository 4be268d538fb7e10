r"""The sheaf convolution of Hansen & Gebhart (2020): a GCN layer with a sheaf Laplacian in place of the
graph Laplacian, for a sheaf the user supplies."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..argument_checks import check_int
from .laplacian import SheafLaplacian


class SheafConv(torch.nn.Module):
    r"""One sheaf convolution on stalk features ``x [N, d, C_in] -> [N, d, C_out]``:

    .. math::
        X' = (I - \Delta_{\mathcal F}) (I_N \otimes W_1) X W_2 \; (+\, b)

    with :math:`W_1 \in \mathbb R^{d \times d}` (initialised to the identity) mixing stalk coordinates and
    :math:`W_2 \in \mathbb R^{C_{in} \times C_{out}}` channels. The nonlinearity :math:`\sigma` of the paper's
    :math:`\sigma(\cdot)` is left to the model, as torch_geometric's layers do. With the identity sheaf and
    ``d = 1``, :math:`I - \Delta` is the symmetric-normalised adjacency and the layer is a GCN layer
    without self loops.

    Args:
        in_channels, out_channels: :math:`C_{in}`, :math:`C_{out}`.
        d: stalk dimension.
        bias: add a learnable bias per output channel.
    """

    def __init__(self, in_channels: int, out_channels: int, d: int, bias: bool = True):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("d", d)):
            check_int(name, value)
        self.in_channels, self.out_channels, self.d = in_channels, out_channels, d
        self.stalk_weight = torch.nn.Parameter(torch.eye(d))
        self.weight = torch.nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None
        bound = math.sqrt(6.0 / (in_channels + out_channels))
        torch.nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x: Tensor, laplacian: SheafLaplacian) -> Tensor:
        if not isinstance(laplacian, SheafLaplacian) or laplacian.stalk_dim != self.d:
            got = f"stalk dimension {laplacian.stalk_dim}" if isinstance(laplacian, SheafLaplacian) \
                else type(laplacian).__name__
            raise ValueError(f"laplacian: expected a SheafLaplacian of stalk dimension {self.d}, got {got}")
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[1:] != (self.d, self.in_channels):
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected stalk features [N, {self.d}, {self.in_channels}], got {shape}")
        h = torch.matmul(self.stalk_weight, x) @ self.weight
        out = h - laplacian(h)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, d={self.d}, bias={self.bias is not None}"
