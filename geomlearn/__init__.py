"""geomlearn: graph and geometry learning for PyTorch on one sparse backend."""

from . import datasets, sparse

__version__ = "0.1.0.dev0"

__all__ = ["datasets", "sparse", "__version__"]
