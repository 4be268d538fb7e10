"""``to_hetero`` for models built from geomlearn layers.

torch_geometric's ``to_hetero`` rewrites a homogeneous model (traced with ``torch.fx``) into one with a copy of each
message-passing layer per edge type and of every other module per node type. It recognises message-passing layers by
``isinstance(module, torch_geometric.nn.MessagePassing)``; geomlearn's layers keep torch_geometric's contract
without deriving from its class (whose ``__init__`` builds its own propagation code), so handed to
``torch_geometric.nn.to_hetero`` directly they would be copied per node type, and their first call fails on the
edge indices of another node type. :func:`to_hetero` here runs torch_geometric's own transformer with each
geomlearn layer presented as one of torch_geometric's message-passing modules, then puts the layers back: the result
is torch_geometric's, with geomlearn layers in it.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch_geometric.nn as pyg
from torch.fx import GraphModule

from .message_passing import MessagePassing


class _PresentedLayer(pyg.MessagePassing):
    """A geomlearn layer presented to torch_geometric's transformer as one of its message-passing modules (only
    while the transformer runs; never returned to the user)."""

    def __init__(self, layer: MessagePassing):
        torch.nn.Module.__init__(self)          # torch_geometric's __init__ would build its own propagation code
        self.layer = layer

    def forward(self, *args: Any, **kwargs: Any):
        return self.layer(*args, **kwargs)

    def reset_parameters(self) -> None:
        self.layer.reset_parameters()

    def __setstate__(self, state: dict) -> None:
        torch.nn.Module.__setstate__(self, state)


def _swap(module: torch.nn.Module, present: bool) -> list[tuple[torch.nn.Module, str, torch.nn.Module]]:
    """Replace every geomlearn layer below ``module`` by its presentation (``present``) or every presentation by its
    layer; returns ``(parent, name, old child)`` for each replacement."""
    swapped = []

    def visit(parent: torch.nn.Module) -> None:
        for name, child in list(parent._modules.items()):
            if present and isinstance(child, MessagePassing):
                parent._modules[name] = _PresentedLayer(child)
                swapped.append((parent, name, child))
            elif not present and isinstance(child, _PresentedLayer):
                parent._modules[name] = child.layer
                swapped.append((parent, name, child))
            elif child is not None:
                visit(child)

    visit(module)
    return swapped


def to_hetero(module: torch.nn.Module, metadata: tuple[list[str], list[tuple[str, str, str]]], aggr: str = "sum",
              input_map: Optional[dict[str, str]] = None, debug: bool = False) -> GraphModule:
    """torch_geometric's ``to_hetero`` for a model whose message-passing layers are geomlearn's (or a mix).

    Same arguments and result as ``torch_geometric.nn.to_hetero``: a ``GraphModule`` taking ``x_dict`` and
    ``edge_index_dict`` (values ``[2, E]`` tensors or ``SparseIndex`` objects), with one copy of each
    message-passing layer per edge type (called on ``(x_src, x_dst)`` pairs, so the layers need bipartite support:
    ``in_channels=(-1, -1)`` or a pair of sizes), their outputs aggregated per target type by ``aggr``
    (``"sum"``, ``"mean"``, ``"max"``, ``"min"``, ``"mul"``), and one copy of every other module per node type.
    Its ``state_dict`` has the keys torch_geometric's conversion of the same model gives. ``module`` itself is
    left as it was.
    """
    swapped = _swap(module, present=True)
    try:
        hetero = pyg.to_hetero(module, metadata, aggr=aggr, input_map=input_map, debug=debug)
    finally:
        for parent, name, layer in swapped:
            parent._modules[name] = layer
    _swap(hetero, present=False)
    return hetero
