"""Learnable commutative monoid aggregation (Ong & Veličković, LoG 2022)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..argument_checks import check_channels
from ..sparse import SparseIndex, segment_tree_reduce


class LCMAggregation(torch.nn.Module):
    r"""Aggregate each neighbourhood with a learnable commutative binary operator, as a balanced tree.

    .. math::
        a \oplus b = \tfrac12\big(\mathrm{GRU}(a, b) + \mathrm{GRU}(b, a)\big), \qquad
        \mathrm{out}_i = \bigoplus_{e = (j \to i)} W m_e

    The operator is commutative by construction; it is not associative, and the model learns to make it
    approximately so (the paper's argument). Each neighbourhood is reduced along a balanced binary tree
    (:func:`~geomlearn.sparse.segment_tree_reduce`): depth :math:`\lceil \log_2 \deg \rceil` rather than
    a recurrent aggregator's :math:`\deg`, all nodes advancing one level at a time, without padding every
    node to the largest degree.

    Pass it as ``aggr`` to a layer (``SAGEConv(16, 32, aggr=LCMAggregation(16, 16))``) or call it on
    per-edge messages.

    Args:
        in_channels: message size.
        out_channels: aggregated size.
        project: map messages by a linear :math:`W` first (required when the sizes differ).

    Shapes:
        - input: ``messages [E, in_channels]``, ``index`` (the graph)
        - output: ``[num_dst, out_channels]`` (zeros for a node without incoming edges)
    """

    def __init__(self, in_channels: int, out_channels: int, project: bool = True):
        super().__init__()
        check_channels("in_channels", in_channels)
        check_channels("out_channels", out_channels)
        if in_channels != out_channels and not project:
            raise ValueError(f"project: in_channels ({in_channels}) != out_channels ({out_channels}) needs project=True")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = torch.nn.Linear(in_channels, out_channels) if project else None
        self.gru = torch.nn.GRUCell(out_channels, out_channels)

    def reset_parameters(self) -> None:
        if self.lin is not None:
            self.lin.reset_parameters()
        self.gru.reset_parameters()

    def combine(self, a: Tensor, b: Tensor) -> Tensor:
        """The commutative binary operator :math:`a \\oplus b` on ``[M, out_channels]`` rows."""
        return 0.5 * (self.gru(a, b) + self.gru(b, a))

    def forward(self, messages: Tensor, index: SparseIndex) -> Tensor:
        if messages.dim() != 2 or messages.shape[1] != self.in_channels:
            raise ValueError(f"messages: expected shape [E, {self.in_channels}], got {list(messages.shape)}")
        if self.lin is not None:
            messages = self.lin(messages)
        return segment_tree_reduce(messages, index, self.combine)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
