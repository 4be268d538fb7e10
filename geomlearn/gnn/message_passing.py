r"""The base class of geomlearn's message-passing layers.

A layer computes, for every target node ``i``,

.. math::
    h_i' = \gamma\Big(h_i,\ \bigoplus_{e = (j \to i)} \phi(h_i, h_j, e)\Big)

with ``message`` = :math:`\phi`, ``aggregate`` = :math:`\oplus` and ``update`` = :math:`\gamma`, as in
torch_geometric. The difference is how it runs: when a layer keeps the default message
:math:`\phi = w_e h_j` (a scalar or per-head weight times the source features, which covers GCN, SAGE,
GIN, APPNP, GAT, DAGNN) and a built-in reduction, :meth:`MessagePassing.propagate` calls the fused
:func:`geomlearn.sparse.spmm`, which never forms the ``[E, C]`` message tensor in the forward or the
backward pass. Only a layer that overrides :meth:`message` takes the gather-scatter path
(gather per edge, compute, :func:`~geomlearn.sparse.segment_reduce` into targets).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional, Union

import torch
from torch import Tensor

from ..sparse import SparseIndex, segment_reduce, spmm
from ..sparse.spmm import REDUCTIONS


class MessagePassing(torch.nn.Module):
    r"""Base class: subclasses implement ``forward`` and call :meth:`propagate`.

    Override :meth:`message` to compute per-edge messages; its parameters name what it needs: ``x_j`` /
    ``x_i`` (source / target features), ``<name>_j`` / ``<name>_i`` for any node tensor passed to
    :meth:`propagate` by keyword (gathered per edge), ``edge_weight``, ``index`` (the ``SparseIndex``),
    and any other keyword passed through as is (per-edge tensors such as ``edge_attr``). Override
    :meth:`aggregate` for a custom reduction (or pass an aggregation module as ``aggr``), and
    :meth:`update` to post-process the aggregated features.

    Args:
        aggr: ``"sum"``, ``"mean"``, ``"max"``, ``"min"``, or a module called as
            ``aggr(messages [E, ...], index) -> [num_dst, ...]`` (e.g. :class:`~geomlearn.gnn.LCMAggregation`).
    """

    def __init__(self, aggr: Union[str, torch.nn.Module] = "sum"):
        super().__init__()
        if isinstance(aggr, str):
            if aggr == "add":
                aggr = "sum"
            if aggr not in REDUCTIONS:
                raise ValueError(f"aggr: expected one of {REDUCTIONS} or an aggregation module, got {aggr!r}")
        elif not isinstance(aggr, torch.nn.Module):
            raise TypeError(f"aggr: expected a string or a torch.nn.Module, got {type(aggr).__name__}")
        self.aggr = aggr

    @property
    def fused(self) -> bool:
        """Whether :meth:`propagate` runs as one fused ``spmm`` (default message, built-in reduction)."""
        return type(self).message is MessagePassing.message and isinstance(self.aggr, str) \
            and type(self).aggregate is MessagePassing.aggregate

    def propagate(self, index: SparseIndex, x: Union[Tensor, tuple[Tensor, Tensor]],
                  edge_weight: Optional[Tensor] = None, **kwargs: Any) -> Tensor:
        """Messages along every edge of ``index``, aggregated into the targets, then :meth:`update`.

        Args:
            index: the graph (``num_dst x num_src``).
            x: node features ``[num_src, ...]`` or a pair ``(x_src [num_src, ...], x_dst [num_dst, ...])``.
            edge_weight: ``[E]`` or per-head ``[E, H]`` weights (with ``x [num_src, H, C]``).
            **kwargs: whatever :meth:`message` and :meth:`update` ask for by name.

        Returns:
            ``[num_dst, ...]``.
        """
        x_src, x_dst = x if isinstance(x, (tuple, list)) else (x, x)
        if self.fused:
            out = spmm(index, x_src, edge_weight, self.aggr)
        else:
            arguments = self._collect(self.message, index, x_src, x_dst, edge_weight, kwargs)
            out = self.aggregate(self.message(**arguments), index)
        if type(self).update is MessagePassing.update:
            return out
        return self.update(out, **self._collect(self.update, index, x_src, x_dst, edge_weight, kwargs, skip=1))

    def message(self, x_j: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        """Default message: ``w_e x_j`` (``x_j`` itself without weights)."""
        if edge_weight is None:
            return x_j
        return edge_weight.reshape(edge_weight.shape + (1,) * (x_j.dim() - edge_weight.dim())) * x_j

    def aggregate(self, messages: Tensor, index: SparseIndex) -> Tensor:
        """Reduce ``messages [E, ...]`` into the targets with ``aggr``."""
        if isinstance(self.aggr, str):
            return segment_reduce(messages, index, self.aggr)
        return self.aggr(messages, index)

    def update(self, aggregated: Tensor) -> Tensor:
        """Post-process the aggregated ``[num_dst, ...]`` features (identity by default)."""
        return aggregated

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _collect(function, index: SparseIndex, x_src: Tensor, x_dst: Tensor, edge_weight: Optional[Tensor],
                 kwargs: dict, skip: int = 0) -> dict:
        nodes = dict(kwargs, x=(x_src, x_dst))
        arguments = {}
        for name in list(inspect.signature(function).parameters)[skip:]:
            if name == "edge_weight":
                arguments[name] = edge_weight
            elif name == "index":
                arguments[name] = index
            elif name in kwargs:
                arguments[name] = kwargs[name]
            elif name[-2:] in ("_j", "_i") and name[:-2] in nodes:
                value = nodes[name[:-2]]
                if name[-2:] == "_j":
                    value = value[0] if isinstance(value, tuple) else value
                    arguments[name] = value[index.src.long()]
                else:
                    value = value[1] if isinstance(value, tuple) else value
                    arguments[name] = value[index.dst.long()]
            elif name == "x":
                arguments[name] = x_dst
            else:
                raise TypeError(
                    f"{type(function.__self__).__name__}.{function.__name__}: parameter {name!r} was not passed to "
                    f"propagate (pass it by keyword, or name a node tensor with a '_i' / '_j' suffix)"
                )
        return arguments
