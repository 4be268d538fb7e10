"""Importing this package registers every suite."""

from . import graph, kernels, molecular, recsys, scale, sheaf, tensor  # noqa: F401
