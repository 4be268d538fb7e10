r"""A layer's weight held as a low-rank tensor: CP, Tucker or tensor-train factors as parameters, contracted
with the layer's input as one tensor network, so the dense weight is never formed.

For a weight of shape :math:`(I_1, \dots, I_N)`:

* ``"cp"``: :math:`W = \sum_r a^{(1)}_r \circ \dots \circ a^{(N)}_r` (factors ``[I_n, R]``, rank index shared);
* ``"tucker"``: :math:`W = G \times_1 A^{(1)} \dots \times_N A^{(N)}` (core ``[R_1, ..., R_N]``);
* ``"tt"``: :math:`W_{i_1 \dots i_N} = G^{(1)}_{i_1} \cdots G^{(N)}_{i_N}` (cores ``[R_{n-1}, I_n, R_n]``).

Tensor dropout (Kossaifi et al.): in training, each rank-one component (CP) or each slice of the core along
each mode (Tucker) is dropped with probability :math:`p` and the rest scaled by :math:`1/(1-p)`, as masks on
the rank indices of the network: the expected weight is unchanged.

Initialisation: every factor has i.i.d. normal entries with one standard deviation chosen so that each
entry of :math:`W` has standard deviation ``std`` (e.g. :math:`1/\sqrt{\text{fan-in}}`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .ranks import cp_rank, tt_rank, tucker_rank
from .tensor_network import TensorNetwork

FACTORIZATIONS = ("cp", "tucker", "tt")


class LowRankWeight(torch.nn.Module):
    """Args:
        shape: the weight's shape ``(I_1, ..., I_N)``.
        rank: as the decompositions take it (``geomlearn.tensor_networks.ranks``).
        factorization: ``"cp"``, ``"tucker"`` or ``"tt"``.
        std: the standard deviation of the weight's entries at initialisation.
        dtype: e.g. ``torch.cfloat`` for a spectral weight.
    """

    def __init__(self, shape, rank, factorization: str = "cp", std: float = 0.02, dtype=torch.float32):
        super().__init__()
        if factorization not in FACTORIZATIONS:
            raise ValueError(f"factorization: expected one of {FACTORIZATIONS}, got {factorization!r}")
        self.shape, self.factorization = tuple(shape), factorization
        order = len(self.shape)
        if factorization == "cp":
            self.rank = cp_rank(rank, self.shape)
            scale = (std ** 2 / self.rank) ** (1 / (2 * order))
            shapes = [(size, self.rank) for size in self.shape]
        elif factorization == "tucker":
            self.rank = tucker_rank(rank, self.shape)
            scale = (std ** 2 / math.prod(self.rank)) ** (1 / (2 * (order + 1)))
            shapes = [self.rank] + [(size, r) for size, r in zip(self.shape, self.rank)]
        else:
            self.rank = tt_rank(rank, self.shape)
            scale = (std ** 2 / math.prod(self.rank)) ** (1 / (2 * order))
            shapes = [(self.rank[n], size, self.rank[n + 1]) for n, size in enumerate(self.shape)]
        self.factors = torch.nn.ParameterList(torch.nn.Parameter(scale * torch.randn(s, dtype=dtype)) for s in shapes)

    def network(self, names: tuple[str, ...], dropout: float = 0.0) -> tuple[dict, dict]:
        """The weight's cores and their indices, its modes named ``names`` (to be contracted with other cores);
        with ``dropout > 0`` the tensor-dropout masks as extra cores on the rank indices."""
        if len(names) != len(self.shape):
            raise ValueError(f"names: expected {len(self.shape)} mode names, got {names}")
        factors, cores, legs = list(self.factors), {}, {}
        if self.factorization == "cp":
            for n, (name, f) in enumerate(zip(names, factors)):
                cores[f"w_factor{n}"], legs[f"w_factor{n}"] = f, (name, "w_r")
            masked = [("w_r", self.rank)]
        elif self.factorization == "tucker":
            cores["w_core"], legs["w_core"] = factors[0], tuple(f"w_r{n}" for n in range(len(names)))
            for n, (name, f) in enumerate(zip(names, factors[1:])):
                cores[f"w_factor{n}"], legs[f"w_factor{n}"] = f, (name, f"w_r{n}")
            masked = [(f"w_r{n}", r) for n, r in enumerate(self.rank)]
        else:
            for n, (name, f) in enumerate(zip(names, factors)):
                cores[f"w_core{n}"], legs[f"w_core{n}"] = f, (f"w_b{n}", name, f"w_b{n + 1}")
            cores["w_ends"], legs["w_ends"] = factors[0].new_ones(1, 1), ("w_b0", f"w_b{len(names)}")
            masked = []
        if dropout > 0:
            if self.factorization == "tt":
                raise ValueError("dropout: tensor dropout drops CP components or Tucker core slices; got a 'tt' weight")
            for leg, size in masked:
                keep = (torch.rand(size, device=factors[0].device) >= dropout).to(factors[0].dtype) / (1 - dropout)
                cores[f"mask_{leg}"], legs[f"mask_{leg}"] = keep, (leg,)
        return cores, legs

    def to_tensor(self) -> Tensor:
        """The dense weight ``[I_1, ..., I_N]`` (for inspection and tests; the layers never form it)."""
        names = tuple(f"i{n}" for n in range(len(self.shape)))
        cores, legs = self.network(names)
        return TensorNetwork(cores, legs, names).contract()

    @property
    def num_parameters(self) -> int:
        return sum(f.numel() for f in self.factors)

    def extra_repr(self) -> str:
        return f"shape={list(self.shape)}, factorization={self.factorization!r}, rank={self.rank}"
