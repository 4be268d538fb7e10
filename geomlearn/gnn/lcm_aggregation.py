"""Learnable commutative monoid aggregation (Ong & Veličković, LoG 2022)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.aggr import Aggregation

from ..argument_checks import check_channels
from ..sparse import SparseIndex, segment_tree_reduce


class LCMAggregation(Aggregation):
    r"""Aggregate each neighbourhood with a learnable commutative binary operator, as a balanced tree.

    .. math::
        a \oplus b = \tfrac12\big(\mathrm{GRU}(a, b) + \mathrm{GRU}(b, a)\big), \qquad
        \mathrm{out}_i = \bigoplus_{e = (j \to i)} \mathrm{ReLU}(W m_e + b)

    The operator is commutative by construction; it is not associative, and the model learns to make it
    approximately so (the paper's argument). Each neighbourhood is reduced along a balanced binary tree
    (:func:`~geomlearn.sparse.segment_tree_reduce`): depth :math:`\lceil \log_2 \deg \rceil` rather than
    a recurrent aggregator's :math:`\deg`, all nodes advancing one level at a time, without padding every
    node to the largest degree.

    A drop-in for ``torch_geometric.nn.aggr.LCMAggregation``: the same arguments, parameters (``lin``,
    ``gru_cell``; its ``state_dict`` loads) and call, ``aggr(x, index, ptr=None, dim_size=None, dim=-2)``,
    so it serves as ``aggr`` of a geomlearn or a torch_geometric layer. One deliberate difference:
    torch_geometric pads every neighbourhood with zero vectors to the largest degree in the batch and folds
    the padding into the tree, so a node's output depends on the other nodes' degrees; here only the node's
    own messages enter its tree (and ``index`` need not be sorted).

    Args:
        in_channels: message size.
        out_channels: aggregated size.
        project: map messages by :math:`\mathrm{ReLU}(W m + b)` first (required when the sizes differ).

    Shapes:
        - input: ``x [E, in_channels]``, ``index [E]`` (the target of each message) or ``ptr``
        - output: ``[dim_size, out_channels]`` (zeros for a target without messages)
    """

    def __init__(self, in_channels: int, out_channels: int, project: bool = True):
        super().__init__()
        check_channels("in_channels", in_channels)
        check_channels("out_channels", out_channels)
        if in_channels != out_channels and not project:
            raise ValueError(f"project: in_channels ({in_channels}) != out_channels ({out_channels}) needs "
                             f"project=True")
        self.in_channels, self.out_channels, self.project = in_channels, out_channels, project
        self.lin = torch.nn.Linear(in_channels, out_channels) if project else None
        self.gru_cell = torch.nn.GRUCell(out_channels, out_channels)

    def reset_parameters(self) -> None:
        if self.lin is not None:
            self.lin.reset_parameters()
        self.gru_cell.reset_parameters()

    def combine(self, a: Tensor, b: Tensor) -> Tensor:
        """The commutative binary operator :math:`a \\oplus b` on ``[M, out_channels]`` rows."""
        return 0.5 * (self.gru_cell(a, b) + self.gru_cell(b, a))

    def forward(self, x: Tensor, index: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected shape [E, {self.in_channels}], got {list(x.shape)}")
        if dim not in (0, -2):
            raise ValueError(f"dim: the messages lie along dimension 0 (-2), got {dim}")
        if index is None:
            index = torch.repeat_interleave(torch.arange(ptr.numel() - 1, device=x.device), ptr.diff())
        if self.lin is not None:
            x = self.lin(x).relu()
        return segment_tree_reduce(x, SparseIndex.from_targets(index, dim_size), self.combine)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, project={self.project})"
