"""Importing this package registers every suite."""

from . import graph, kernels, recsys, sheaf  # noqa: F401
