"""Sheaf Laplacians and sheaf diffusion on :func:`geomlearn.sparse.block_spmm` and multi-head ``spmm``.

==========================  ======================================================================
``sheaf_laplacian``         the (normalised) sheaf Laplacian of given restriction maps, as blocks
``SheafLaplacian``          its diagonal and off-diagonal blocks; ``L(x)`` applies it to ``[N, d, C]``
``restriction_maps``        diagonal, orthogonal (Householder, Cayley) or general maps from parameters
``fixed_channel_maps``      fixed low-pass / high-pass stalk coordinates (a direct summand)
``direct_sum``              the Laplacian of a direct sum of sheaves (one stacked Laplacian when all diagonal)
``DirectSumLaplacian``      the same, part by part
``SheafConv``               Hansen & Gebhart's sheaf convolution for a given sheaf
``SheafLearner``            maps learned from node features, :math:`\\sigma(A x_u + B x_v)`
``SheafDiffusion``          the discrete sheaf diffusion network (encoder, steps, decoder)
``DiagNSD`` ``BundleNSD``   Neural Sheaf Diffusion with diagonal, orthogonal or general maps
``GeneralNSD``
``connection_maps``         connection sheaf of the features: local PCA frames aligned by Procrustes
``ConnectionNSD``           sheaf diffusion on that sheaf (computed once)
``IdentitySheafDiffusion``  the identity-sheaf baseline
``SheafRecommender``        Sheaf4Rec: LightGCN's propagation on a learned sheaf, BPR-trained
==========================  ======================================================================
"""

from .connection import connection_maps, local_pca_frames, procrustes_transports
from .diffusion import SheafDiffusion
from .fixed_sheaf import ConnectionNSD, FixedSheafDiffusion, IdentitySheafDiffusion
from .laplacian import DirectSumLaplacian, SheafLaplacian, direct_sum, sheaf_laplacian
from .nsd import BundleNSD, DiagNSD, GeneralNSD, NeuralSheafDiffusion
from .restriction_maps import MAP_KINDS, num_map_parameters, restriction_maps, fixed_channel_maps
from .recommender import SheafRecommender
from .sheaf_conv import SheafConv
from .sheaf_learner import SheafLearner

__all__ = [
    "BundleNSD", "ConnectionNSD", "DiagNSD", "DirectSumLaplacian", "FixedSheafDiffusion", "GeneralNSD", "IdentitySheafDiffusion",
    "MAP_KINDS", "NeuralSheafDiffusion", "SheafConv", "SheafDiffusion", "SheafLaplacian", "SheafLearner", "SheafRecommender",
    "connection_maps", "direct_sum", "local_pca_frames", "num_map_parameters", "procrustes_transports", "restriction_maps",
    "sheaf_laplacian", "fixed_channel_maps",
]
