r"""Tensor regression layer (Kossaifi et al., JMLR 2020) with tensor dropout.

.. math::
    y_{b o} = \langle X_b, W_{\dots o} \rangle + \beta_o
           = \sum_{i_1 \dots i_N} X_{b i_1 \dots i_N}\, W_{i_1 \dots i_N o} + \beta_o,

with the regression weight :math:`W \in \mathbb{R}^{I_1 \times \dots \times I_N \times O}` held in CP or Tucker
form (:class:`~geomlearn.tensor_networks.low_rank_weight.LowRankWeight`), so an activation tensor (e.g. a CNN's
``[B, C, H, W]`` feature maps) is regressed without flattening it and without forming :math:`W`: the input
and the factors are contracted as one network along an opt_einsum path. Tensor dropout (``dropout``) drops
rank-one components (CP) or core slices (Tucker) in training.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..argument_checks import check_probability
from .low_rank_weight import LowRankWeight
from .tensor_network import TensorNetwork


class TRL(torch.nn.Module):
    """``x [B, *input_shape] -> [B, out_features]``.

    Args:
        input_shape: ``(I_1, ..., I_N)``, the trailing shape of the input.
        out_features: ``O``.
        rank: of the weight ``[I_1, ..., I_N, O]`` (int, tuple or fraction).
        factorization: ``"cp"`` or ``"tucker"``.
        dropout: tensor-dropout probability in training.
        bias: learn :math:`\\beta`.
    """

    def __init__(self, input_shape, out_features: int, rank, factorization: str = "cp", dropout: float = 0.0,
                 bias: bool = True):
        super().__init__()
        if factorization not in ("cp", "tucker"):
            raise ValueError(f"factorization: expected 'cp' or 'tucker', got {factorization!r}")
        check_probability("dropout", dropout, what="a tensor-dropout probability", one=False)
        self.input_shape, self.out_features, self.dropout = tuple(input_shape), out_features, dropout
        self.weight = LowRankWeight((*self.input_shape, out_features), rank, factorization,
                                    std=1 / math.sqrt(math.prod(self.input_shape)))
        self.bias = torch.nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or tuple(x.shape[1:]) != self.input_shape:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected [B, {', '.join(map(str, self.input_shape))}], got {shape}")
        modes = tuple(f"i{n}" for n in range(len(self.input_shape)))
        cores, legs = self.weight.network((*modes, "o"), self.dropout if self.training else 0.0)
        out = TensorNetwork({"x": x, **cores}, {"x": ("b", *modes), **legs}, ("b", "o")).contract()
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"input_shape={list(self.input_shape)}, out_features={self.out_features}, dropout={self.dropout}"
