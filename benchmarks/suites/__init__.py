"""Importing this package registers every suite."""

from . import graph, kernels, molecular, recsys, relational, scale, sheaf, tensor  # noqa: F401
