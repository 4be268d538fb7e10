"""Sheaf Laplacians and sheaf diffusion on :func:`geomlearn.sparse.block_spmm`.

==================  ==========================================================================
``sheaf_laplacian``  the (normalised) sheaf Laplacian of given restriction maps, as blocks
``SheafLaplacian``   its diagonal and off-diagonal blocks; ``L(x)`` applies it with ``block_spmm``
==================  ==========================================================================
"""

from .laplacian import SheafLaplacian, sheaf_laplacian

__all__ = ["SheafLaplacian", "sheaf_laplacian"]
