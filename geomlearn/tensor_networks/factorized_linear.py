r"""Linear layers whose weight matrix is a low-rank tensor: ``FactorizedLinear`` (CP, Tucker or TT-matrix) and
``TTLinear`` (the TT-matrix layer of Novikov et al., NeurIPS 2015).

With :math:`\text{in} = \prod_k m_k` and :math:`\text{out} = \prod_k n_k`, the weight
:math:`W \in \mathbb{R}^{\text{in} \times \text{out}}` is read as the tensor
:math:`W_{(i_1 \dots i_d), (j_1 \dots j_d)}` and held as

* ``"cp"`` / ``"tucker"``: a CP / Tucker tensor of shape :math:`(m_1, \dots, m_d, n_1, \dots, n_d)`;
* ``"tt"``: a TT-matrix, :math:`W = G^{(1)}_{i_1 j_1} G^{(2)}_{i_2 j_2} \cdots G^{(d)}_{i_d j_d}`, cores
  :math:`G^{(k)} \in \mathbb{R}^{R_{k-1} \times m_k \times n_k \times R_k}`,

and :math:`y = x W + b` is computed by contracting the reshaped input ``[B, m_1, ..., m_d]`` with the factors
(one opt_einsum path): :math:`O(B \sum_k \dots)` instead of :math:`O(B\, \text{in}\, \text{out})`, and the
parameters shrink from :math:`\text{in} \cdot \text{out}` to :math:`\sum_k R_{k-1} m_k n_k R_k` (TT).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .low_rank_weight import LowRankWeight
from .tensor_network import TensorNetwork


class FactorizedLinear(torch.nn.Module):
    """``[..., prod(in_shape)] -> [..., prod(out_shape)]``.

    Args:
        in_shape, out_shape: the factorisations :math:`(m_1, \\dots, m_d)`, :math:`(n_1, \\dots, n_d)` of the
            features (the same number of factors for ``"tt"``).
        rank: of the weight tensor (for ``"tt"``: the bonds between the ``d`` cores).
        factorization: ``"cp"``, ``"tucker"`` or ``"tt"``.
        bias: learn :math:`b`.
    """

    def __init__(self, in_shape, out_shape, rank, factorization: str = "tt", bias: bool = True):
        super().__init__()
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.in_features, self.out_features = math.prod(self.in_shape), math.prod(self.out_shape)
        self.factorization = factorization
        std = 1 / math.sqrt(self.in_features)
        if factorization == "tt":
            if len(self.in_shape) != len(self.out_shape):
                raise ValueError(f"out_shape: a TT-matrix pairs the factors of in_shape {list(self.in_shape)} and "
                                 f"out_shape one to one; got {list(self.out_shape)}")
            shape = tuple(m * n for m, n in zip(self.in_shape, self.out_shape))
        else:
            shape = (*self.in_shape, *self.out_shape)
        self.weight = LowRankWeight(shape, rank, factorization, std=std)
        self.bias = torch.nn.Parameter(torch.zeros(self.out_features)) if bias else None

    def _weight_network(self) -> tuple[dict, dict, tuple, tuple]:
        inputs = tuple(f"m{k}" for k in range(len(self.in_shape)))
        outputs = tuple(f"n{k}" for k in range(len(self.out_shape)))
        if self.factorization != "tt":
            cores, legs = self.weight.network((*inputs, *outputs))
            return cores, legs, inputs, outputs
        cores, legs = self.weight.network(tuple(f"mn{k}" for k in range(len(self.in_shape))))
        for k, (m, n) in enumerate(zip(self.in_shape, self.out_shape)):       # split each (m_k n_k) index
            core = cores[f"w_core{k}"]
            cores[f"w_core{k}"] = core.reshape(core.shape[0], m, n, core.shape[2])
            left, _, right = legs[f"w_core{k}"]
            legs[f"w_core{k}"] = (left, inputs[k], outputs[k], right)
        return cores, legs, inputs, outputs

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.shape[-1] != self.in_features:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected [..., {self.in_features}] features, got {shape}")
        batch = x.shape[:-1]
        cores, legs, inputs, outputs = self._weight_network()
        network = TensorNetwork({"x": x.reshape(-1, *self.in_shape), **cores}, {"x": ("b", *inputs), **legs},
                                ("b", *outputs))
        out = network.contract().reshape(*batch, self.out_features)
        return out + self.bias if self.bias is not None else out

    def dense_weight(self) -> Tensor:
        """``[in_features, out_features]`` (for inspection and tests)."""
        cores, legs, inputs, outputs = self._weight_network()
        return TensorNetwork(cores, legs, (*inputs, *outputs)).contract().reshape(self.in_features,
                                                                                  self.out_features)

    def extra_repr(self) -> str:
        return (f"in_shape={list(self.in_shape)}, out_shape={list(self.out_shape)}, "
                f"factorization={self.factorization!r}, parameters={self.weight.num_parameters}")


class TTLinear(FactorizedLinear):
    """:class:`FactorizedLinear` with a TT-matrix weight (bond dimensions ``rank``)."""

    def __init__(self, in_shape, out_shape, rank, bias: bool = True):
        super().__init__(in_shape, out_shape, rank, factorization="tt", bias=bias)
