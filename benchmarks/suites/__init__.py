"""Importing this package registers every suite."""

from . import graph, kernels  # noqa: F401
