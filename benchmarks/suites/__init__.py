"""Importing this package registers every suite."""

from . import kernels  # noqa: F401
