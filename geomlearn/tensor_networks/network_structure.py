r"""A tensor-network structure as an adjacency matrix: the encoding structure searches work on.

For an order-:math:`N` tensor, the network has :math:`N` cores, core :math:`k` carrying mode :math:`k`. The
symmetric matrix :math:`A \in \mathbb{Z}_{\ge 1}^{N \times N}` holds the mode sizes on its diagonal,
:math:`A_{kk} = I_k`, and the bond ranks off it, :math:`A_{kl} = R_{kl}`; rank 1 means no bond. Core :math:`k` is
:math:`G^{(k)} \in \mathbb R^{I_k \times \prod_{l:\,R_{kl} > 1} R_{kl}}` (bonds in increasing :math:`l`) and

.. math::
    \hat X_{i_1 \dots i_N} = \sum_{\{r_{kl}\}} \prod_k G^{(k)}_{i_k,\, (r_{kl})_{l \ne k}},

the fully connected tensor network of Zheng et al. restricted to the bonds of rank > 1. Tensor trains are
paths, tensor rings cycles, and a Tucker tensor folded into its largest factor is a star (its core joined to
that factor's node). Being a set of edge ranks, the encoding needs no separate permutation of the modes.

The parameter count is :math:`\sum_k I_k \prod_{l \ne k} R_{kl}`; the compression ratio is that count over
:math:`\prod_k I_k` (smaller is more compressed), the quantity the search objective adds to :math:`200\,` RSE.
"""

from __future__ import annotations

import math
from typing import Sequence

from torch import Tensor

from ..argument_checks import is_int
from .tensor_network import TensorNetwork


class NetworkStructure:
    """Args:
        adjacency: a symmetric ``N x N`` matrix of ints >= 1 (nested sequences or an integer tensor), ``N >= 2``:
            mode sizes on the diagonal, bond ranks off it.

    Raises:
        ValueError: not square, ``N < 2``, not symmetric, or an entry that is not an int >= 1.
    """

    def __init__(self, adjacency):
        rows = adjacency.tolist() if isinstance(adjacency, Tensor) else [list(row) for row in adjacency]
        order = len(rows)
        if order < 2 or any(len(row) != order for row in rows):
            raise ValueError(f"adjacency: expected a square matrix of size N >= 2, got rows of lengths "
                             f"{[len(row) for row in rows]}")
        for k, row in enumerate(rows):
            for l, entry in enumerate(row):
                if not is_int(entry) or entry < 1:
                    raise ValueError(f"adjacency: expected ints >= 1, got {entry!r} at ({k}, {l})")
                if rows[l][k] != entry:
                    raise ValueError(f"adjacency: expected a symmetric matrix, got {entry} at ({k}, {l}) and "
                                     f"{rows[l][k]} at ({l}, {k})")
        self.adjacency = tuple(tuple(row) for row in rows)

    @classmethod
    def uniform(cls, shape: Sequence[int], rank: int = 1) -> "NetworkStructure":
        """Every pair of cores joined by a bond of ``rank`` (``rank = 1``: the rank-one tensor)."""
        return cls([[size if k == l else rank for l in range(len(shape))] for k, size in enumerate(shape)])

    @classmethod
    def tensor_train(cls, shape: Sequence[int], ranks: Sequence[int]) -> "NetworkStructure":
        """The path ``0 - 1 - ... - N-1`` with bond ``ranks[k]`` between cores ``k`` and ``k + 1``."""
        if len(ranks) != len(shape) - 1:
            raise ValueError(f"ranks: expected {len(shape) - 1} bond ranks for an order-{len(shape)} train, got "
                             f"{list(ranks)}")
        return cls.uniform(shape).with_ranks({(k, k + 1): r for k, r in enumerate(ranks)})

    @classmethod
    def tensor_ring(cls, shape: Sequence[int], ranks: Sequence[int]) -> "NetworkStructure":
        """The cycle with bond ``ranks[k]`` between cores ``k`` and ``k + 1 (mod N)``."""
        if len(ranks) != len(shape) or len(shape) < 3:
            raise ValueError(f"ranks: expected {len(shape)} bond ranks for an order-{len(shape)} ring (N >= 3), "
                             f"got {list(ranks)}")
        return cls.uniform(shape).with_ranks({(k, (k + 1) % len(shape)): r for k, r in enumerate(ranks)})

    @property
    def order(self) -> int:
        return len(self.adjacency)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.adjacency[k][k] for k in range(self.order))

    @property
    def edges(self) -> list[tuple[int, int]]:
        """Every pair ``(k, l)``, ``k < l``: the variables of a search (rank 1 included)."""
        return [(k, l) for k in range(self.order) for l in range(k + 1, self.order)]

    def rank(self, k: int, l: int) -> int:
        return self.adjacency[k][l]

    def with_ranks(self, ranks: dict[tuple[int, int], int]) -> "NetworkStructure":
        """A copy with the bonds ``{(k, l): rank}`` set."""
        rows = [list(row) for row in self.adjacency]
        for (k, l), rank in ranks.items():
            if k == l or not (0 <= k < self.order and 0 <= l < self.order):
                raise ValueError(f"ranks: expected pairs of distinct cores in 0..{self.order - 1}, got ({k}, {l})")
            rows[k][l] = rows[l][k] = rank
        return NetworkStructure(rows)

    def handed_over(self, core: int, neighbour: int, rank: int) -> "NetworkStructure":
        """The structure in which ``core`` hands its other bonds, ranks unchanged, to ``neighbour`` and keeps only the
        bond to it, of ``rank``: ``core`` becomes a leaf of ``neighbour`` (a star centred on ``core`` is re-centred
        on ``neighbour``).

        Raises:
            ValueError: no bond between the two, or a core bonded to both (its two bonds would have to merge).
        """
        if self.rank(core, neighbour) == 1:
            raise ValueError(f"neighbour: expected a core bonded to core {core}, got {neighbour} (rank 1)")
        moved = [j for j in self.bonds(core) if j != neighbour]
        shared = [j for j in moved if self.rank(neighbour, j) > 1]
        if shared:
            raise ValueError(f"neighbour: cores {shared} are bonded to both {core} and {neighbour}; a hand-over "
                             f"needs them to share no neighbour")
        return self.with_ranks({**{(core, j): 1 for j in moved}, **{(neighbour, j): self.rank(core, j) for j in moved},
                                (core, neighbour): rank})

    def bonds(self, k: int) -> list[int]:
        """The cores ``l`` joined to core ``k`` by a bond of rank > 1, increasing: the order of its dimensions."""
        return [l for l in range(self.order) if l != k and self.adjacency[k][l] > 1]

    @staticmethod
    def bond_index(k: int, l: int) -> str:
        """The index name of the bond between cores ``k`` and ``l`` in :meth:`network` (either order)."""
        return f"b{min(k, l)}_{max(k, l)}"

    def core_shape(self, k: int) -> tuple[int, ...]:
        return (self.adjacency[k][k], *(self.adjacency[k][l] for l in self.bonds(k)))

    @property
    def num_parameters(self) -> int:
        return sum(math.prod(self.core_shape(k)) for k in range(self.order))

    @property
    def compression_ratio(self) -> float:
        """Parameters over the dense tensor's entries."""
        return self.num_parameters / math.prod(self.shape)

    def network(self, cores: Sequence[Tensor], batch: bool = False) -> TensorNetwork:
        """The :class:`TensorNetwork` of ``cores`` (core ``k`` of ``core_shape`` ``(k)``); with ``batch``, every
        core has a leading batch dimension that stays open in front of the modes."""
        lead = ("batch",) if batch else ()
        legs = {f"core{k}": (*lead, f"i{k}", *(self.bond_index(k, l) for l in self.bonds(k)))
                for k in range(self.order)}
        return TensorNetwork({f"core{k}": core for k, core in enumerate(cores)}, legs,
                             (*lead, *(f"i{k}" for k in range(self.order))))

    def __eq__(self, other) -> bool:
        return isinstance(other, NetworkStructure) and self.adjacency == other.adjacency

    def __hash__(self) -> int:
        return hash(self.adjacency)

    def __repr__(self) -> str:
        bonds = {f"{k}-{l}": self.rank(k, l) for k, l in self.edges if self.rank(k, l) > 1}
        return f"NetworkStructure(shape={list(self.shape)}, bonds={bonds})"
