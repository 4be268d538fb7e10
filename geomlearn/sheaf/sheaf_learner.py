r"""Restriction maps learned from node features: :math:`F_{u \trianglelefteq e} = \sigma(A x_u + B x_v)`.

Neural Sheaf Diffusion's learner applies one linear map to the concatenation :math:`[x_u \| x_v]` of every
edge, an ``[E, 2 d C]`` tensor per layer. The same map splits as :math:`A x_u + B x_v`: both projections are
computed per node (``[N, k]`` each, ``k`` = map parameters) and summed per edge by
:func:`~geomlearn.sparse.gather_sum`, whose backward pass is a segment sum, so nothing of width ``d C`` is
ever formed per edge.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..sparse import SparseIndex, gather_sum, reverse_edge_values
from .laplacian import SheafLaplacian, sheaf_laplacian
from .restriction_maps import num_map_parameters, restriction_maps

_ACTIVATIONS = {"tanh": torch.tanh, "identity": lambda t: t, "elu": torch.nn.functional.elu}


class SheafLearner(torch.nn.Module):
    r"""Learns a sheaf on a graph from node features ``x [N, D, C]`` and returns its normalised Laplacian.

    Args:
        channels: :math:`C`, features per stalk coordinate.
        d: stalk dimension of the learned maps.
        in_stalk_dim: :math:`D`, stalk coordinates of the features it reads (default ``d``; more when the
            model carries fixed channels beside the learned sheaf).
        kind: ``"diagonal"``, ``"householder"`` / ``"cayley"`` (orthogonal, O(d)-NSD) or ``"general"``.
        activation: :math:`\sigma` on the map parameters: ``"tanh"`` (NSD's), ``"elu"`` or ``"identity"``.
        edge_weights: orthogonal maps only: scale both maps of an edge by
            :math:`w_e = s(a^\top [x_u \| x_v])\, s(a^\top [x_v \| x_u])`, :math:`s` the sigmoid, a learned
            symmetric edge weight (NSD's ``edge_weights``).
        stalk_sum: feed :math:`\sum_i x_{u,i}` (``[N, C]``) instead of all ``d C`` features to the learner
            (NSD's ``sparse_learner``).
        eps: the Laplacian's degree shift (1.0: NSD's augmented normalisation; see
            :func:`~geomlearn.sheaf.sheaf_laplacian`).
    """

    def __init__(self, channels: int, d: int, kind: str, activation: str = "tanh", edge_weights: bool = False,
                 stalk_sum: bool = False, in_stalk_dim: Optional[int] = None, eps: float = 1.0):
        super().__init__()
        self.num_params = num_map_parameters(kind, d)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {tuple(_ACTIVATIONS)}, got {activation!r}")
        if edge_weights and kind not in ("householder", "cayley"):
            raise ValueError(f"edge_weights: learned edge weights apply to orthogonal maps, got kind={kind!r}")
        self.kind, self.d, self.activation, self.edge_weights = kind, d, activation, edge_weights
        self.stalk_sum, self.eps = stalk_sum, eps
        self.in_stalk_dim = d if in_stalk_dim is None else in_stalk_dim
        width = channels if stalk_sum else self.in_stalk_dim * channels
        outputs = self.num_params + int(edge_weights)
        self.own = torch.nn.Linear(width, outputs, bias=False)      # A: the end whose map it is
        self.other = torch.nn.Linear(width, outputs, bias=False)    # B: the other end
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""``[A | B]`` drawn as torch draws one ``Linear(2 width, k)`` on the concatenation (NSD's learner):
        uniform in :math:`\pm 1 / \sqrt{2\,\mathrm{width}}`, not each half as a layer of its own."""
        bound = (2 * self.own.in_features) ** -0.5
        for lin in (self.own, self.other):
            torch.nn.init.uniform_(lin.weight, -bound, bound)

    def maps_and_weights(self, x: Tensor, index: SparseIndex) -> tuple[Tensor, Optional[Tensor]]:
        """The restriction maps ``[E, d, d]`` (``[E, d]`` diagonal), ``maps[e] = F_{src(e) <| e}``, and the learned
        edge weights ``[E]`` that scale them (``None`` without ``edge_weights``)."""
        flat = x.sum(dim=1) if self.stalk_sum else x.reshape(x.shape[0], -1)
        params = gather_sum(index, self.other(flat), self.own(flat))      # A x_src + B x_dst per edge
        # The activation runs on every column and the map parameters are sliced after it: torch's elementwise
        # kernels do not vectorise a column slice of [E, k + 1] (4x slower on Squirrel's edges).
        maps = restriction_maps(_ACTIVATIONS[self.activation](params)[:, : self.num_params], self.kind, self.d)
        if not self.edge_weights:
            return maps, None
        gate = torch.sigmoid(params[:, -1])
        return maps, gate * reverse_edge_values(index, gate)

    def maps(self, x: Tensor, index: SparseIndex) -> Tensor:
        """The restriction maps ``[E, d, d]`` (``[E, d]`` diagonal), scaled by the edge weights if learned."""
        maps, weights = self.maps_and_weights(x, index)
        return maps if weights is None else weights.view(-1, 1, 1) * maps

    def forward(self, x: Tensor, index: SparseIndex) -> SheafLaplacian:
        """The normalised Laplacian (``d`` coordinates) of the maps learned from ``x [N, D, C]``."""
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[1] != self.in_stalk_dim:
            shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x: expected stalk features [N, {self.in_stalk_dim}, C], got {shape}")
        maps, weights = self.maps_and_weights(x, index)
        orthogonal = self.kind in ("householder", "cayley")
        return sheaf_laplacian(index, maps, eps=self.eps, orthogonal=orthogonal, edge_weights=weights)

    def extra_repr(self) -> str:
        return (f"kind={self.kind!r}, d={self.d}, activation={self.activation!r}, edge_weights={self.edge_weights}, "
                f"stalk_sum={self.stalk_sum}, in_stalk_dim={self.in_stalk_dim}")
