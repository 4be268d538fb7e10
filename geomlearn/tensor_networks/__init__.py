"""Tensor decompositions, completion and tensor-network layers (see README.md)."""
