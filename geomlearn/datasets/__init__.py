"""Data set loaders returning torch_geometric ``Data`` (graphs, molecules) or tensors."""

from .root import DataNotFoundError, data_required, data_root, require_file
from .synthetic import power_law_graph

__all__ = ["DataNotFoundError", "data_required", "data_root", "power_law_graph", "require_file"]
