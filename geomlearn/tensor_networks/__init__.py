"""Tensor decompositions users call as an API (TensorLy's keywords), on torch, on the input's device.

==========================  ============================================================================================
``cp``                      CP by ALS (dimension-tree MTTKRP, optional line search); ``mask`` or sparse COO input
                            fit the observed entries only (row-wise least squares on :mod:`geomlearn.sparse`)
``parafac``, ``CP``         TensorLy's ``parafac`` and estimator (its arguments, defaults, random draws and returns)
                            on ``cp``'s ALS
``tucker``, ``Tucker``      HOSVD / HOOI with TensorLy's arguments; ``mask`` by EM imputation; the estimator
``tensor_train``            TT-SVD with a relative error bound ``eps``; ``mask`` by EM at fixed ranks
``tt_round``                TT-rounding (QR right to left, truncated SVD left to right)
``tensor_ring``             TR-SVD (TensorLy's); ``tensor_ring_als`` by ALS (QR least squares; ``mask`` by EM);
                            the estimators ``TensorRing``, ``TensorRingALS``
``tsvd``                    t-SVD (one SVD per Fourier slice of mode 3) at a tubal rank; ``t_product``,
                            ``t_transpose``; ``mask`` by EM
``CPTensor``,               the results: unpack (``weights, factors = cp(...)``), ``to_tensor()``, ``errors`` per
``TuckerTensor``,           iteration, ``num_parameters``, ``compression_ratio``, ``plot_errors()``
``TTTensor``,
``TRTensor``,
``TSVDTensor``
``TensorNetwork``           named cores and indices contracted along an opt_einsum path; every result's
                            ``to_network()``
``NetworkStructure``        a tensor network as an adjacency matrix (mode sizes on the diagonal, bond ranks off it)
``fit_network``             fit a structure by Adam (the structure-search protocol); returns a ``NetworkTensor``
``greedy_search``,          structure search by greedy rank increments (Hashemizadeh et al.) and by alternating local
``tnale``                   enumeration (Li et al.), objective compression ratio + 200 RSE; return a ``StructureSearch``
``MPSClassifier``           Stoudenmire & Schwab's MPS classifier (cos / sin feature map, label core mid-chain)
``TRL``                     tensor regression layer, CP or Tucker weight, tensor dropout
``FactorizedLinear``,       linear layers with a CP / Tucker / TT-matrix weight, never formed
``TTLinear``
``FactorizedSpectralConv``  TFNO's spectral convolution with one global low-rank complex weight
``LowRankWeight``           the factorised weight these layers share
``unfold``, ``fold``,       the multilinear algebra they are written in
``mode_dot``,
``khatri_rao``
==========================  ============================================================================================

Ranks are ints, tuples or a float fraction of the dense parameter count (``geomlearn.tensor_networks.ranks``).
"""

from .cp import CPTensor, cp
from .parafac import CP, parafac
from .decomposition import Decomposition, Estimator
from .factorized_linear import FactorizedLinear, TTLinear
from .low_rank_weight import LowRankWeight
from .mps_classifier import MPSClassifier
from .network_fit import NetworkTensor, fit_network
from .network_structure import NetworkStructure
from .tensor_algebra import fold, khatri_rao, mode_dot, unfold
from .spectral_conv import FactorizedSpectralConv
from .structure_search import StructureSearch, greedy_search, tnale
from .tensor_network import TensorNetwork
from .tensor_regression import TRL
from .tensor_ring import TensorRing, TensorRingALS, TRTensor, tensor_ring, tensor_ring_als
from .tensor_train import TensorTrain, TTTensor, tensor_train, tt_round
from .tsvd import TSVDTensor, t_product, t_transpose, tsvd
from .tucker import Tucker, TuckerTensor, tucker

__all__ = [
    "CP",
    "CPTensor",
    "Decomposition",
    "Estimator",
    "FactorizedLinear",
    "FactorizedSpectralConv",
    "LowRankWeight",
    "MPSClassifier",
    "NetworkStructure",
    "NetworkTensor",
    "StructureSearch",
    "TRL",
    "TRTensor",
    "TSVDTensor",
    "TTLinear",
    "TTTensor",
    "TensorNetwork",
    "TensorRing",
    "TensorRingALS",
    "TensorTrain",
    "Tucker",
    "TuckerTensor",
    "cp",
    "fit_network",
    "fold",
    "greedy_search",
    "khatri_rao",
    "mode_dot",
    "parafac",
    "t_product",
    "t_transpose",
    "tensor_ring",
    "tensor_ring_als",
    "tensor_train",
    "tnale",
    "tt_round",
    "tsvd",
    "tucker",
    "unfold",
]
