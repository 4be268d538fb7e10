"""Sheaf Laplacians and sheaf diffusion on :func:`geomlearn.sparse.block_spmm` (see README.md)."""
