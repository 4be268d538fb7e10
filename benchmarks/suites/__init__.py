"""Importing this package registers every suite."""

from . import graph, kernels, sheaf  # noqa: F401
