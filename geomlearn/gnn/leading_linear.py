"""Per-edge networks whose first layer is linear, run with that layer on the nodes.

A message such as EdgeConv's :math:`h_\\Theta([x_i, x_j - x_i])` or PNA's :math:`h_\\Theta([x_i, x_j, e_{ji}])`
starts with a linear map of a concatenation. It splits by blocks: :math:`W [x_i, x_j] + b = W_t x_i + W_s x_j + b`,
so the products run once per node (``N`` rows) and only their per-edge sum (one
:func:`~geomlearn.sparse.gather_sum`) is per edge, where applying the network to the concatenated ``[E, 2F]`` tensor
costs ``E / N`` times as many multiply-adds and memory for the concatenation.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor
from torch.nn.parameter import UninitializedParameter
from torch_geometric.nn import Linear


class LeadingLinear(NamedTuple):
    """A network split into its first linear layer (``weight [out, in]``, ``bias``) and the rest."""

    weight: Tensor
    bias: Optional[Tensor]
    rest: Callable[[Tensor], Tensor]


def split_leading_linear(network) -> Optional[LeadingLinear]:
    """The network's first linear layer and the rest when ``network`` is a ``torch.nn.Linear`` / torch_geometric
    ``Linear`` (initialised) or a ``torch.nn.Sequential`` starting with one; ``None`` for anything else (the
    caller then runs the network on the concatenated per-edge input)."""
    if isinstance(network, torch.nn.Sequential) and len(network) > 0:
        first, rest = network[0], network[1:]
    else:
        first, rest = network, torch.nn.Identity()
    if type(first) not in (torch.nn.Linear, Linear) or isinstance(first.weight, UninitializedParameter):
        return None
    return LeadingLinear(first.weight, first.bias, rest)
