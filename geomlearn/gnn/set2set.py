"""Set2Set readout (Vinyals, Bengio & Kudlur, ICLR 2016): attention over each set, driven by an LSTM."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..argument_checks import check_channels, check_int, check_width
from ..sparse import sddmm, segment_softmax, spmm
from .global_pool import graph_membership


class Set2Set(torch.nn.Module):
    r"""The Set2Set readout of `Vinyals et al. <https://arxiv.org/abs/1511.06391>`_: for ``processing_steps``
    rounds, per set :math:`b`,

    .. math::
        q_b = \mathrm{LSTM}(q_b^*), \qquad \alpha_n = \operatorname{softmax}_{n \in b} \langle x_n, q_b \rangle,
        \qquad r_b = \sum_{n \in b} \alpha_n x_n, \qquad q_b^* = [q_b, r_b]

    A drop-in for ``torch_geometric.nn.Set2Set`` (called as ``aggr(x, index=None, ptr=None, dim_size=None,
    dim=-2)``; parameters ``lstm.*``). Each round's scores are one :func:`~geomlearn.sparse.sddmm`, normalised by
    :func:`~geomlearn.sparse.segment_softmax` and summed by one :func:`~geomlearn.sparse.spmm`: no ``[N, F]``
    gathered query is formed.

    Args:
        in_channels: feature size ``F``.
        processing_steps: number of rounds.
        **kwargs: ``torch.nn.LSTM``'s options (``num_layers``, ...).

    Shapes:
        - input: ``x [N, F]``, ``index [N]`` (the set of each row; ``ptr`` is accepted and not needed),
          ``dim_size`` the number of sets ``B`` (``index.max() + 1`` when omitted)
        - output: ``[B, 2F]``
    """

    def __init__(self, in_channels: int, processing_steps: int, **kwargs):
        super().__init__()
        check_channels("in_channels", in_channels)
        check_int("processing_steps", processing_steps)
        self.in_channels, self.out_channels, self.processing_steps = in_channels, 2 * in_channels, processing_steps
        self.lstm = torch.nn.LSTM(self.out_channels, in_channels, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()

    def forward(self, x: Tensor, index: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"x: expected a two-dimensional input [N, F], got "
                             f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        if dim not in (0, -2):
            raise ValueError(f"dim: expected the row axis of the two-dimensional x (0 or -2), got {dim}")
        check_width("x", x, self.in_channels)
        if index is None:
            raise ValueError("index: Set2Set needs the set of each row of x ([N]), got None (as torch_geometric's, "
                             "it does not read sets from ptr alone)")
        sets = graph_membership(index, dim_size, x.shape[0])
        size = sets.num_dst
        state = (x.new_zeros(self.lstm.num_layers, size, self.in_channels),
                 x.new_zeros(self.lstm.num_layers, size, self.in_channels))
        q_star = x.new_zeros(size, self.out_channels)
        for _ in range(self.processing_steps):
            q, state = self.lstm(q_star.unsqueeze(0), state)
            q = q.view(size, self.in_channels)
            alpha = segment_softmax(sddmm(sets, q, x), sets)                # [N]: one weight per row
            q_star = torch.cat([q, spmm(sets, x, alpha)], dim=-1)
        return q_star

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
