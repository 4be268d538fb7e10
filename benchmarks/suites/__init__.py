"""Importing this package registers every suite."""

from . import graph, kernels, molecular, recsys, sheaf, tensor  # noqa: F401
