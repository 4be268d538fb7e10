r"""A small tensor-network type: named cores whose dimensions carry named indices, contracted along an
opt_einsum path.

An index that appears on one core only, or that is asked for in ``output``, stays open; every other index is
summed over (a bond between two cores, or a hyperedge between several, such as a CP rank index shared by all
factors). :meth:`TensorNetwork.contract` finds the pairwise contraction order with opt_einsum
(``optimize="auto"`` by default, any opt_einsum strategy by name) and runs it in torch, so gradients flow to
the cores; :meth:`TensorNetwork.path_info` reports the order, its FLOP count and largest intermediate.
The decompositions are views: ``CPTensor`` / ``TuckerTensor`` / ``TTTensor`` / ``TRTensor.to_network()``.
"""

from __future__ import annotations

import functools
from typing import Optional

import opt_einsum
from torch import Tensor


@functools.lru_cache(maxsize=512)
def _compiled(expression: str, shapes: tuple, optimize: str):
    return opt_einsum.contract_expression(expression, *shapes, optimize=optimize)


class TensorNetwork:
    """Args:
        cores: ``{name: tensor}``.
        indices: ``{name: (index, ...)}``, one index name per dimension of the core.
        output: the open indices, in the order of the contracted tensor's dimensions (default: the indices
            that appear on one core only, in the order they first appear).

    Raises:
        ValueError: a core without indices (or with the wrong number), an index whose sizes disagree, or an
            output index that no core carries.
    """

    def __init__(self, cores: dict[str, Tensor], indices: dict[str, tuple[str, ...]],
                 output: Optional[tuple[str, ...]] = None):
        if set(cores) != set(indices):
            raise ValueError(f"indices: expected one entry per core {sorted(cores)}, got {sorted(indices)}")
        sizes, counts = {}, {}
        for name, core in cores.items():
            legs = tuple(indices[name])
            if not isinstance(core, Tensor) or core.dim() != len(legs):
                shape = list(core.shape) if isinstance(core, Tensor) else type(core).__name__
                raise ValueError(f"indices: core {name!r} of shape {shape} needs one index per dimension, got {legs}")
            for leg, size in zip(legs, core.shape):
                if sizes.setdefault(leg, size) != size:
                    raise ValueError(f"indices: index {leg!r} has size {sizes[leg]} on one core and {size} on "
                                     f"core {name!r}")
                counts[leg] = counts.get(leg, 0) + 1
        if output is None:
            output = tuple(leg for leg in sizes if counts[leg] == 1)
        missing = [leg for leg in output if leg not in sizes]
        if missing:
            raise ValueError(f"output: indices {missing} are on no core (indices: {sorted(sizes)})")
        self.cores, self.indices, self.output = dict(cores), {k: tuple(v) for k, v in indices.items()}, tuple(output)
        self.sizes = sizes

    def _expression(self) -> tuple[str, list[Tensor]]:
        symbols = {leg: opt_einsum.get_symbol(k) for k, leg in enumerate(self.sizes)}
        terms = ["".join(symbols[leg] for leg in self.indices[name]) for name in self.cores]
        return ",".join(terms) + "->" + "".join(symbols[leg] for leg in self.output), list(self.cores.values())

    def contract(self, optimize: str = "auto") -> Tensor:
        """The tensor over the open indices ``output`` (in that order). The path is found once per expression and
        shapes (cached), so a layer contracting the same network every step pays for the search once."""
        return self.contraction(optimize)(*self.cores.values())

    def contraction(self, optimize: str = "auto"):
        """The contraction as a function of new cores of the same shapes, given in the order of ``cores``: for a
        loop that contracts the same network with fresh tensors every step."""
        expression, operands = self._expression()
        compiled = _compiled(expression, tuple(tuple(t.shape) for t in operands), optimize)
        return lambda *cores: compiled(*cores, backend="torch")

    def path_info(self, optimize: str = "auto"):
        """opt_einsum's ``PathInfo``: the pairwise order, FLOP count and the largest intermediate's size."""
        expression, operands = self._expression()
        return opt_einsum.contract_path(expression, *operands, optimize=optimize)[1]

    @property
    def num_parameters(self) -> int:
        return sum(core.numel() for core in self.cores.values())

    def __repr__(self) -> str:
        cores = ", ".join(f"{name}{list(self.indices[name])}" for name in self.cores)
        return f"TensorNetwork({cores} -> {list(self.output)})"
