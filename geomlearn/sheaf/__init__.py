"""Sheaf Laplacians and sheaf diffusion on :func:`geomlearn.sparse.block_spmm`.

======================  ==========================================================================
``sheaf_laplacian``     the (normalised) sheaf Laplacian of given restriction maps, as blocks
``SheafLaplacian``      its diagonal and off-diagonal blocks; ``L(x)`` applies it with ``block_spmm``
``restriction_maps``    diagonal, orthogonal (Householder, Cayley) or general maps from parameters
======================  ==========================================================================
"""

from .laplacian import SheafLaplacian, sheaf_laplacian
from .restriction_maps import MAP_KINDS, num_map_parameters, restriction_maps

__all__ = ["MAP_KINDS", "SheafLaplacian", "num_map_parameters", "restriction_maps", "sheaf_laplacian"]
