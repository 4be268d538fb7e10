r"""TensorNet (Simeon & De Fabritiis, NeurIPS 2023): O(3)-equivariant message passing with Cartesian rank-2
tensors.

Every atom and channel holds a :math:`3 \times 3` matrix :math:`X = I + A + S`, its scalar (trace) part
:math:`I = \tfrac13 \operatorname{tr}(X)\, \mathbb 1`, antisymmetric part :math:`A = \tfrac12 (X - X^\top)` and
symmetric traceless part :math:`S`. Under :math:`g \in O(3)` the parts transform as ``0e``, ``1o`` and ``2e``:
:math:`X \mapsto g (I + \det(g) A + S) g^\top`, because the edge's antisymmetric part is built from a
polar vector.

* Embedding: for an edge :math:`j \to i` with :math:`r = p_i - p_j`, :math:`d = |r|`, the tensors
  :math:`\mathbb 1`, :math:`[\hat r]_\times` and :math:`\hat r \hat r^\top - \tfrac13 \mathbb 1`, weighted per
  channel by linear maps of a radial basis :math:`e(d)` times the cosine cutoff :math:`\phi(d)` and by a
  linear map of both atoms' type embeddings, summed over neighbours; then normalised by an MLP of
  :math:`\lVert X \rVert^2`.
* Interaction :math:`t`: :math:`Y = W_I I + W_A A + W_S S` of :math:`X / (\lVert X \rVert^2 + 1)` (channel
  mixing per part), messages :math:`M_i = \sum_j \phi(d)\,(f_I(d) I^Y_j + f_A(d) A^Y_j + f_S(d) S^Y_j)`, the
  equivariant product :math:`B = Y M + M Y`, its parts divided by :math:`\lVert B \rVert^2 + 1` and mixed into
  :math:`\Delta X`, and :math:`X \leftarrow X + \Delta X + \Delta X^2`.
* Readout: :math:`(\lVert I \rVert^2, \lVert A \rVert^2, \lVert S \rVert^2)` per channel (invariants),
  layer norm, MLP to an atomic energy; the molecule's energy is the sum plus an optional per-element
  reference (QM9's atom references).

Neighbour sums are segment sums on :mod:`geomlearn.sparse`; forces are :math:`-\partial E / \partial p`.
With 128 channels and 32 radial functions the model has 528k parameters with one layer and 762k with two
(the paper: 535k and 770k).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ..argument_checks import check_int
from ..sparse import SparseIndex, gather_sum, segment_reduce, spmm
from .energy_model import EnergyModel


def decompose(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(I, A, S)`` of matrices ``[..., 3, 3]``: scalar, antisymmetric and symmetric traceless parts."""
    trace = x.diagonal(dim1=-2, dim2=-1).sum(-1)
    eye = torch.eye(3, dtype=x.dtype, device=x.device)
    scalar = (trace / 3)[..., None, None] * eye
    antisymmetric = 0.5 * (x - x.transpose(-1, -2))
    return scalar, antisymmetric, 0.5 * (x + x.transpose(-1, -2)) - scalar


def skew(v: Tensor) -> Tensor:
    r""":math:`[v]_\times` ``[..., 3, 3]``, the matrix of :math:`u \mapsto v \times u`."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([torch.stack([zero, -z, y], -1), torch.stack([z, zero, -x], -1),
                        torch.stack([-y, x, zero], -1)], -2)


def squared_norm(x: Tensor) -> Tensor:
    """Frobenius norm squared over the last two dimensions."""
    return x.square().sum((-2, -1))


class ExpNormalBasis(torch.nn.Module):
    r""":math:`e_k(d) = \exp(-\beta_k (e^{-d} - \mu_k)^2)` with centres spread over :math:`[e^{-c}, 1]`
    (PhysNet's basis, TensorNet's choice), times the cosine cutoff :math:`\phi(d) = \tfrac12 (\cos(\pi d / c) + 1)`
    below :math:`c` and 0 above: ``[E] -> ([E, K], [E])``."""

    def __init__(self, num_rbf: int, cutoff: float):
        super().__init__()
        self.cutoff = float(cutoff)
        start = math.exp(-self.cutoff)
        self.register_buffer("centres", torch.linspace(start, 1.0, num_rbf))
        self.register_buffer("betas", torch.full((num_rbf,), (2 / num_rbf * (1 - start)) ** -2))

    def forward(self, distance: Tensor) -> tuple[Tensor, Tensor]:
        envelope = 0.5 * (torch.cos(distance * math.pi / self.cutoff) + 1.0) * (distance < self.cutoff)
        basis = torch.exp(-self.betas * (torch.exp(-distance.unsqueeze(-1)) - self.centres) ** 2)
        return basis, envelope


class _PartLinear(torch.nn.Module):
    """Channel mixing per part: ``W_I I + W_A A + W_S S`` for ``[N, C, 3, 3]`` parts (no bias: equivariant)."""

    def __init__(self, channels: int):
        super().__init__()
        self.parts = torch.nn.ModuleList(torch.nn.Linear(channels, channels, bias=False) for _ in range(3))

    def forward(self, scalar: Tensor, antisymmetric: Tensor, symmetric: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return tuple(lin(part.transpose(1, -1)).transpose(1, -1)
                     for lin, part in zip(self.parts, (scalar, antisymmetric, symmetric)))


class _Interaction(torch.nn.Module):
    def __init__(self, channels: int, num_rbf: int):
        super().__init__()
        self.radial = torch.nn.Sequential(torch.nn.Linear(num_rbf, channels), torch.nn.SiLU(),
                                          torch.nn.Linear(channels, 2 * channels), torch.nn.SiLU(),
                                          torch.nn.Linear(2 * channels, 3 * channels), torch.nn.SiLU())
        self.mix_in, self.mix_out = _PartLinear(channels), _PartLinear(channels)

    def forward(self, x: Tensor, index: SparseIndex, basis: Tensor, envelope: Tensor) -> Tensor:
        n, c = x.shape[:2]
        x = x / (squared_norm(x) + 1)[..., None, None]
        scalar, antisymmetric, symmetric = self.mix_in(*decompose(x))
        weights = self.radial(basis) * envelope.unsqueeze(-1)                            # [E, 3C]: f_I, f_A, f_S
        parts = torch.cat([scalar, antisymmetric, symmetric], dim=1).reshape(n, 3 * c, 9)
        # One multi-head SpMM (head = part x channel): no [E, 3C, 9] message tensor.
        messages = spmm(index, parts, weights).view(n, 3, c, 3, 3).sum(1)
        y = scalar + antisymmetric + symmetric
        product = y @ messages + messages @ y
        norm = (squared_norm(product) + 1)[..., None, None]
        delta = sum(self.mix_out(*(part / norm for part in decompose(product))))
        return x + delta + delta @ delta


class TensorNet(EnergyModel):
    r"""TensorNet energy model: ``forward(z, pos, batch) -> [num_molecules]`` energies,
    ``energy_and_forces`` (:class:`~geomlearn.equivariant.EnergyModel`).

    Args:
        hidden_channels: channels :math:`C` of the per-atom tensors.
        num_layers: interaction layers.
        num_rbf: radial basis functions.
        cutoff: neighbour cutoff (the graph is built by :func:`~geomlearn.equivariant.radius_graph`).
        max_z: largest atomic number.
        atomref: optional ``[max_z + 1]`` reference energy per element, added per atom (not trained).
    """

    def __init__(self, hidden_channels: int = 128, num_layers: int = 2, num_rbf: int = 32, cutoff: float = 4.5,
                 max_z: int = 128, atomref: Optional[Tensor] = None):
        super().__init__(max_z, atomref)
        for name, value in (("hidden_channels", hidden_channels), ("num_layers", num_layers), ("num_rbf", num_rbf)):
            check_int(name, value)
        if not isinstance(cutoff, (int, float)) or not cutoff > 0:
            raise ValueError(f"cutoff: expected a distance > 0, got {cutoff!r}")
        c = hidden_channels
        self.hidden_channels, self.cutoff = c, float(cutoff)
        self.basis = ExpNormalBasis(num_rbf, cutoff)
        self.species = torch.nn.Embedding(max_z + 1, c)
        self.pair = torch.nn.Linear(2 * c, c)
        self.edge_parts = torch.nn.Linear(num_rbf, 3 * c)
        self.embed_norm = torch.nn.LayerNorm(c)
        self.embed_scale = torch.nn.Sequential(torch.nn.Linear(c, 2 * c), torch.nn.SiLU(),
                                               torch.nn.Linear(2 * c, 3 * c), torch.nn.SiLU())
        self.embed_mix = _PartLinear(c)
        self.interactions = torch.nn.ModuleList(_Interaction(c, num_rbf) for _ in range(num_layers))
        self.out_norm = torch.nn.LayerNorm(3 * c)
        self.readout = torch.nn.Sequential(torch.nn.Linear(3 * c, c), torch.nn.SiLU(), torch.nn.Linear(c, 1))

    def atomic_features(self, z: Tensor, pos: Tensor, batch: Optional[Tensor] = None) -> Tensor:
        """``[N, C, 3, 3]`` per-atom tensors after the interactions."""
        self.check_inputs(z, pos)
        index = self.neighbours(pos, batch, self.cutoff)
        vectors = gather_sum(index, pos, -pos)                                           # p_i - p_j
        distance = vectors.norm(dim=1)
        basis, envelope = self.basis(distance)
        direction = vectors / distance.unsqueeze(-1)
        eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
        edge_tensors = (eye.expand(len(distance), 3, 3), skew(direction),
                        direction.unsqueeze(-1) * direction.unsqueeze(-2) - eye / 3)
        species = self.species(z)
        pair = self.pair(torch.cat([gather_sum(index, species, None), gather_sum(index, None, species)], dim=1))
        weights = (self.edge_parts(basis) * envelope.unsqueeze(-1)).view(-1, 3, self.hidden_channels)
        weights = weights * pair.unsqueeze(1)                                            # [E, 3, C]
        per_edge = sum(weights[:, k, :, None, None] * edge_tensors[k].unsqueeze(1) for k in range(3))
        x = segment_reduce(per_edge.reshape(len(distance), -1), index, "sum").view(-1, self.hidden_channels, 3, 3)
        scales = self.embed_scale(self.embed_norm(squared_norm(x))).view(-1, 3, self.hidden_channels)
        parts = self.embed_mix(*decompose(x))
        x = sum(scales[:, k, :, None, None] * parts[k] for k in range(3))
        for interaction in self.interactions:
            x = interaction(x, index, basis, envelope)
        return x

    def atomic_energies(self, z: Tensor, pos: Tensor, batch: Optional[Tensor]) -> Tensor:
        x = self.atomic_features(z, pos, batch)
        invariants = torch.cat([squared_norm(part) for part in decompose(x)], dim=1)        # [N, 3C]
        return self.readout(self.out_norm(invariants)).squeeze(-1)
