r"""Neural Sheaf Diffusion (Bodnar et al., NeurIPS 2022): sheaf diffusion with a sheaf learned per layer.

Step ``t`` learns its restriction maps from the stalk features entering it,
:math:`F_{u \trianglelefteq e} = \tanh(A_t x_u + B_t x_v)` (:class:`~geomlearn.sheaf.SheafLearner`), builds
the augmented normalised Laplacian, and diffuses (:class:`~geomlearn.sheaf.SheafDiffusion`). Three map
families: diagonal (``DiagNSD``), orthogonal O(d) with learned edge weights (``BundleNSD``) and general
``d x d`` maps (``GeneralNSD``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..sparse import SparseIndex
from .diffusion import SheafDiffusion
from .laplacian import SheafLaplacian
from .sheaf_learner import SheafLearner


class NeuralSheafDiffusion(SheafDiffusion):
    r"""NSD with maps of any kind.

    Args:
        in_channels, hidden_channels, out_channels, num_layers: as in :class:`~geomlearn.sheaf.SheafDiffusion`.
        d: stalk dimension of the learned maps.
        dropout, input_dropout, low_pass, high_pass, left_weights, right_weights, use_act, second_linear: as in
            :class:`~geomlearn.sheaf.SheafDiffusion`.
        maps: ``"diagonal"``, ``"householder"``, ``"cayley"`` or ``"general"``.
        edge_weights: learned symmetric edge weights (orthogonal maps).
        stalk_sum: the learner reads the stalk-summed features (NSD's ``sparse_learner``).
        shared_sheaf: learn the sheaf once, at the first step, and reuse it (NSD's ``linear``).
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 maps: str = "diagonal", dropout: float = 0.0, input_dropout: float = 0.0, edge_weights: bool = False,
                 low_pass: bool = False, high_pass: bool = False, stalk_sum: bool = False,
                 shared_sheaf: bool = False, left_weights: bool = True, right_weights: bool = True,
                 use_act: bool = True, second_linear: bool = False):
        super().__init__(in_channels, hidden_channels, out_channels, d, num_layers, dropout, input_dropout, low_pass,
                         high_pass, left_weights, right_weights, use_act, second_linear)
        self.maps, self.shared_sheaf = maps, shared_sheaf
        self.learners = torch.nn.ModuleList(
            SheafLearner(hidden_channels, d, maps, edge_weights=edge_weights, stalk_sum=stalk_sum,
                         in_stalk_dim=self.stalk_dim)
            for _ in range(1 if shared_sheaf else num_layers))

    def laplacian(self, layer: int, x: Tensor, h: Tensor, index: SparseIndex,
                  previous: Optional[SheafLaplacian]) -> SheafLaplacian:
        if self.shared_sheaf and previous is not None:
            return previous
        # The maps of later steps see the hidden features through the same dropout as the update.
        h = F.dropout(h, self.dropout if layer > 0 else 0.0, self.training)
        return self.learners[layer](h, index)


class DiagNSD(NeuralSheafDiffusion):
    """NSD with diagonal restriction maps (Diag-NSD); see :class:`NeuralSheafDiffusion` for the arguments."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 **options):
        super().__init__(in_channels, hidden_channels, out_channels, d, num_layers, maps="diagonal", **options)


class BundleNSD(NeuralSheafDiffusion):
    """NSD with orthogonal restriction maps (O(d)-NSD, a vector bundle), Householder-parametrised by default
    (``maps="cayley"`` for the Cayley transform) and with learned edge weights unless ``edge_weights=False``."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 maps: str = "householder", edge_weights: bool = True, **options):
        if maps not in ("householder", "cayley"):
            raise ValueError(f"maps: BundleNSD takes orthogonal maps, 'householder' or 'cayley', got {maps!r}")
        super().__init__(in_channels, hidden_channels, out_channels, d, num_layers, maps=maps,
                         edge_weights=edge_weights, **options)


class GeneralNSD(NeuralSheafDiffusion):
    """NSD with general ``d x d`` restriction maps (Gen-NSD); see :class:`NeuralSheafDiffusion`."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, d: int = 2, num_layers: int = 2,
                 **options):
        super().__init__(in_channels, hidden_channels, out_channels, d, num_layers, maps="general", **options)
