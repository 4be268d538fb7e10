r"""The base class of geomlearn's message-passing layers, with torch_geometric's contract.

A layer computes, for every target node ``i``,

.. math::
    h_i' = \gamma\Big(h_i,\ \bigoplus_{e = (j \to i)} \phi(h_i, h_j, e)\Big)

with ``message`` = :math:`\phi`, ``aggregate`` = :math:`\oplus` and ``update`` = :math:`\gamma`. A subclass
written for ``torch_geometric.nn.MessagePassing`` runs unchanged: ``propagate(edge_index, size=None,
**kwargs)``, ``_i`` / ``_j`` arguments, ``flow``, ``node_dim``, PyG's ``Aggregation`` modules and aggregation
lists, ``message_and_aggregate`` on sparse adjacencies, ``edge_updater`` / ``edge_update`` and
``decomposed_layers`` keep PyG's meaning.

The difference is how it runs. :meth:`MessagePassing.propagate` reads the layer's ``message`` once (a
``torch.fx`` trace, redone when a plain attribute of the layer changes): when it returns the source
features ``x_j`` themselves, or ``x_j`` times a per-edge (or per-edge, per-head) weight reshaped to
broadcast, and the aggregation is a sum, mean, max, min or a concatenation of those, propagation runs as
the fused :func:`geomlearn.sparse.spmm`, which never forms the ``[E, C]`` message tensor in the forward
or the backward pass. Any other message takes the gather-scatter path: gather per edge, ``message``,
then :func:`~geomlearn.sparse.segment_reduce` for the built-in reductions or the aggregation module.
"""

from __future__ import annotations

import inspect
import math
import operator
import warnings
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter
from torch.utils.hooks import RemovableHandle
from torch_geometric.nn.aggr import MaxAggregation, MeanAggregation, MinAggregation, MultiAggregation, SumAggregation
from torch_geometric.nn.resolver import aggregation_resolver

from ..sparse import SparseIndex, segment_reduce, spmm
from ..sparse.graph_input import adjacency_edges, is_sparse_adjacency

FLOWS = ("source_to_target", "target_to_source")
BUILT_IN_REDUCTIONS = {SumAggregation: "sum", MeanAggregation: "mean", MaxAggregation: "max", MinAggregation: "min"}
SPECIAL_ARGUMENTS = ("edge_index", "adj_t", "edge_index_i", "edge_index_j", "size", "size_i", "size_j", "ptr",
                     "index", "dim_size")
HOOKS = ("propagate_pre", "propagate", "message_pre", "message", "aggregate_pre", "aggregate",
         "message_and_aggregate_pre", "message_and_aggregate", "edge_update_pre", "edge_update")
# Methods that only reshape a per-edge weight so that it broadcasts against the messages.
BROADCAST_METHODS = ("view", "reshape", "unsqueeze")


@lru_cache(maxsize=None)
def _parameters(function) -> tuple[inspect.Parameter, ...]:
    return tuple(inspect.signature(function).parameters.values())


def _implements(layer: torch.nn.Module, name: str) -> bool:
    return getattr(type(layer), name) is not getattr(MessagePassing, name)


class MessagePassing(torch.nn.Module):
    r"""Base class: subclasses implement ``forward`` and call :meth:`propagate`, as in torch_geometric.

    ``message`` names what it needs: ``x_j`` / ``x_i`` (the features of an edge's source / target, for
    any node tensor ``x`` passed to :meth:`propagate`), any other keyword passed to ``propagate``
    (per-edge tensors such as ``edge_attr``), and the special arguments ``edge_index``, ``edge_index_i``,
    ``edge_index_j``, ``index`` (the targets, ``[E]``), ``ptr``, ``size``, ``size_i``, ``size_j``,
    ``dim_size``. ``aggregate(inputs, index, ptr=None, dim_size=None)`` reduces the messages into the
    targets; ``update(inputs, ...)`` post-processes them.

    Args:
        aggr: ``"sum"`` / ``"add"``, ``"mean"``, ``"max"``, ``"min"``, any other name torch_geometric
            resolves (``"std"``, ``"lstm"``, ...), a list of those (concatenated, PyG's multi-aggregation),
            an aggregation module called as ``aggr(inputs, index, ptr=None, dim_size=None, dim=node_dim)``
            (PyG's ``Aggregation`` modules, :class:`~geomlearn.gnn.LCMAggregation`), or ``None`` when the
            layer overrides ``aggregate``.
        aggr_kwargs: keywords for the aggregation module that ``aggr`` names.
        flow: ``"source_to_target"`` (messages from ``edge_index[0]`` to ``edge_index[1]``) or
            ``"target_to_source"``.
        node_dim: the axis of the node (and edge) dimension of the features.
        decomposed_layers: split the gathered features into this many chunks along the last axis and
            propagate each in turn, to bound the memory of the gather-scatter path.
    """

    special_args = set(SPECIAL_ARGUMENTS)

    def __init__(self, aggr: Optional[Union[str, list, torch.nn.Module]] = "sum", *,
                 aggr_kwargs: Optional[dict[str, Any]] = None, flow: str = "source_to_target", node_dim: int = -2,
                 decomposed_layers: int = 1):
        super().__init__()
        if flow not in FLOWS:
            raise ValueError(f"flow: expected one of {FLOWS}, got {flow!r}")
        if not isinstance(node_dim, int) or isinstance(node_dim, bool):
            raise TypeError(f"node_dim: expected an int, got {type(node_dim).__name__}")
        if not isinstance(decomposed_layers, int) or decomposed_layers < 1:
            raise ValueError(f"decomposed_layers: expected a positive int, got {decomposed_layers!r}")
        if aggr is None:
            self.aggr, self.aggr_module = None, None
        else:
            if not isinstance(aggr, (str, list, tuple, torch.nn.Module)):
                raise TypeError(f"aggr: expected a name, a list of names, an aggregation module or None, got "
                                f"{type(aggr).__name__}")
            try:
                self.aggr_module = aggregation_resolver(aggr, **(aggr_kwargs or {}))
            except ValueError as error:
                raise ValueError(f"aggr: {error}") from None
            self.aggr = [str(a) for a in aggr] if isinstance(aggr, (list, tuple)) else str(aggr)
        self.flow, self.node_dim, self.decomposed_layers = flow, node_dim, decomposed_layers
        self._hooks: dict[str, OrderedDict] = {name: OrderedDict() for name in HOOKS}
        self._message_forms: dict = {}
        self._current: Optional[tuple[Tensor, SparseIndex]] = None

    def reset_parameters(self) -> None:
        if self.aggr_module is not None and hasattr(self.aggr_module, "reset_parameters"):
            self.aggr_module.reset_parameters()

    def __repr__(self) -> str:
        if hasattr(self, "in_channels") and hasattr(self, "out_channels"):
            return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        if hasattr(self, "channels"):
            return f"{type(self).__name__}({self.channels})"
        return f"{type(self).__name__}()"

    # ------------------------------------------------------------------ hooks (torch_geometric's)
    def _add_hook(self, kind: str, hook) -> RemovableHandle:
        handle = RemovableHandle(self._hooks[kind])
        self._hooks[kind][handle.id] = hook
        return handle

    def register_propagate_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, (edge_index, size, kwargs))`` before :meth:`propagate`; may return new inputs."""
        return self._add_hook("propagate_pre", hook)

    def register_propagate_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, (edge_index, size, kwargs), out)`` after :meth:`propagate`; may return a new output."""
        return self._add_hook("propagate", hook)

    def register_message_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, (message_kwargs,))`` before ``message``; may return new arguments. While one is
        registered, propagation forms the messages (no fused path)."""
        return self._add_hook("message_pre", hook)

    def register_message_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, (message_kwargs,), messages)`` after ``message`` (no fused path while registered)."""
        return self._add_hook("message", hook)

    def register_aggregate_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, (aggregate_kwargs,))`` before ``aggregate`` (no fused path while registered)."""
        return self._add_hook("aggregate_pre", hook)

    def register_aggregate_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, (aggregate_kwargs,), out)`` after ``aggregate`` (no fused path while registered)."""
        return self._add_hook("aggregate", hook)

    def register_message_and_aggregate_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, (adj_t, kwargs))`` before ``message_and_aggregate``."""
        return self._add_hook("message_and_aggregate_pre", hook)

    def register_message_and_aggregate_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, (adj_t, kwargs), out)`` after ``message_and_aggregate``."""
        return self._add_hook("message_and_aggregate", hook)

    def register_edge_update_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, (edge_index, size, kwargs))`` before :meth:`edge_updater`; may return new inputs."""
        return self._add_hook("edge_update_pre", hook)

    def register_edge_update_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, (edge_index, size, kwargs), out)`` after :meth:`edge_updater`."""
        return self._add_hook("edge_update", hook)

    def _run_pre_hooks(self, kind: str, inputs: tuple) -> tuple:
        for hook in self._hooks[kind].values():
            result = hook(self, inputs)
            if result is not None:
                inputs = result if isinstance(result, tuple) else (result,)
        return inputs

    def _run_hooks(self, kind: str, inputs: tuple, out):
        for hook in self._hooks[kind].values():
            result = hook(self, inputs, out)
            if result is not None:
                out = result
        return out

    # ------------------------------------------------------------------ what runs fused
    @property
    def reductions(self) -> Optional[tuple[str, ...]]:
        """The built-in reductions the aggregation amounts to (several for a concatenating multi-aggregation),
        or ``None`` when it is anything else (a learned module, ``std``, an overridden ``aggregate``)."""
        if _implements(self, "aggregate"):
            return None
        module = self.aggr_module
        if type(module) in BUILT_IN_REDUCTIONS:
            return (BUILT_IN_REDUCTIONS[type(module)],)
        if type(module) is MultiAggregation and module.mode == "cat" and \
                all(type(a) in BUILT_IN_REDUCTIONS for a in module.aggrs):
            return tuple(BUILT_IN_REDUCTIONS[type(a)] for a in module.aggrs)
        return None

    @property
    def fused(self) -> bool:
        """Whether :meth:`propagate` runs as fused ``spmm`` calls when every keyword ``message`` takes is given."""
        return self.reductions is not None and self._message_form(frozenset()) is not None

    def _message_form(self, absent: frozenset) -> Optional[tuple]:
        """``(feature name, weight name or None, broadcast steps)`` when ``message`` is ``x_j`` or a reshaped
        per-edge weight times ``x_j``, else ``None``. ``absent`` names the arguments that are ``None``."""
        state = tuple((k, v) for k, v in vars(self).items() if isinstance(v, (bool, int, float, str, type(None))))
        key = (absent, state)
        if key not in self._message_forms:
            self._message_forms[key] = self._trace_message(absent)
        return self._message_forms[key]

    def _trace_message(self, absent: frozenset) -> Optional[tuple]:
        if not _implements(self, "message"):
            return ("x_j", None, ())
        function = type(self).message
        names = [p.name for p in _parameters(function)[1:]]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph = torch.fx.Tracer().trace(function, concrete_args={"self": self,
                                                                         **{n: None for n in absent if n in names}})
        except Exception:       # anything fx cannot follow (control flow on tensors, submodules): not fusable
            return None
        output = next(node for node in graph.nodes if node.op == "output").args[0]

        def feature(node) -> Optional[str]:
            ok = isinstance(node, torch.fx.Node) and node.op == "placeholder" and node.target.endswith("_j")
            return node.target if ok and node.target not in self.special_args else None

        if feature(output):
            return (feature(output), None, ())
        if not (isinstance(output, torch.fx.Node) and output.op == "call_function" and output.target is operator.mul
                and len(output.args) == 2 and not output.kwargs):
            return None
        for x_node, w_node in (output.args, output.args[::-1]):
            if not feature(x_node):
                continue
            steps = []
            while isinstance(w_node, torch.fx.Node) and w_node.op == "call_method" and \
                    w_node.target in BROADCAST_METHODS and not w_node.kwargs and \
                    all(isinstance(a, int) for a in w_node.args[1:]):
                steps.append((w_node.target, tuple(w_node.args[1:])))
                w_node = w_node.args[0]
            if isinstance(w_node, torch.fx.Node) and w_node.op == "placeholder" and \
                    w_node.target not in self.special_args and not w_node.target.endswith(("_i", "_j")):
                return (feature(x_node), w_node.target, tuple(reversed(steps)))
        return None

    # ------------------------------------------------------------------ propagation
    def propagate_then_linear(self, lin: torch.nn.Module, edge_index: Union[Tensor, SparseIndex], x: Tensor,
                              **kwargs) -> Tensor:
        """``lin(propagate(edge_index, x=x, **kwargs))``. For a fused linear reduction (sum, mean) onto fewer
        columns than ``x`` has, ``lin``'s weight runs first (it commutes with the reduction) and its bias after, so
        the fused ``spmm`` moves the narrower features."""
        if self.fused and self.reductions in (("sum",), ("mean",)) and lin.out_channels < x.shape[-1] and \
                not isinstance(lin.weight, UninitializedParameter):
            out = self.propagate(edge_index, x=F.linear(x, lin.weight), **kwargs)
            return out if lin.bias is None else out + lin.bias
        return lin(self.propagate(edge_index, x=x, **kwargs))

    def aggregate_edges(self, messages: Tensor, index: SparseIndex) -> Tensor:
        """Per-edge ``messages [E, ...]`` (in ``index``'s edge order) reduced into ``index``'s targets with the
        layer's aggregation: :func:`~geomlearn.sparse.segment_reduce` over the cached CSR for the built-in
        reductions, else the aggregation module on the targets. For layers whose messages the math forms anyway
        (a per-edge network, a per-edge gate) and that skip :meth:`propagate`'s gathering."""
        reductions = self.reductions
        if reductions is None:
            return self.aggregate(messages.movedim(0, self.node_dim % messages.dim()), index.dst.long(),
                                  dim_size=index.num_dst).movedim(self.node_dim % messages.dim(), 0)
        outs = [segment_reduce(messages, index, r) for r in reductions]
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def propagate(self, edge_index: Union[Tensor, SparseIndex],
                  size: Optional[tuple[Optional[int], Optional[int]]] = None,
                  **kwargs: Any) -> Tensor:
        """Messages along every edge, aggregated into the targets, then :meth:`update`.

        Args:
            edge_index: ``[2, E]`` (messages from ``edge_index[0]`` to ``edge_index[1]`` with the default
                ``flow``), a :class:`~geomlearn.sparse.SparseIndex` (sources to targets whatever the ``flow``;
                its layouts are reused), or a ``torch.sparse`` adjacency ``adj_t [num_dst, num_src]`` whose values
                are the edge weights.
            size: ``(N, M)``, the node counts of ``edge_index[0]`` and ``edge_index[1]``; inferred from the
                features when ``None`` (and assumed equal where only one side is known).
            **kwargs: whatever ``message``, ``aggregate`` and ``update`` ask for by name.

        Returns:
            ``[..., num_dst, ...]`` (the node axis at ``node_dim``).
        """
        edge_index, size, kwargs = self._run_pre_hooks("propagate_pre", (edge_index, size, kwargs))
        graph = _Graph(edge_index, size, self.flow)
        self._learn_sizes(graph, kwargs, ("message", "aggregate", "update"))
        if self._fuses_sparse(edge_index):
            arguments = self._collect("message_and_aggregate", graph, kwargs, skip=1)
            adj_t, arguments = self._run_pre_hooks("message_and_aggregate_pre", (edge_index, arguments))
            out = self.message_and_aggregate(adj_t, **arguments)
            out = self._run_hooks("message_and_aggregate", (adj_t, arguments), out)
        else:
            observed = any(self._hooks[k] for k in ("message_pre", "message", "aggregate_pre", "aggregate"))
            out = None if observed or self.decomposed_layers > 1 else self._fused_propagation(graph, kwargs)
            if out is None:
                out = self._gather_scatter(graph, kwargs)
        if _implements(self, "update"):
            out = self.update(out, **self._collect("update", graph, kwargs, skip=1))
        return self._run_hooks("propagate", (edge_index, size, kwargs), out)

    def message(self, x_j: Tensor) -> Tensor:
        """The message of every edge (default: the source features ``x_j``)."""
        return x_j

    def aggregate(self, inputs: Tensor, index: Tensor, ptr: Optional[Tensor] = None,
                  dim_size: Optional[int] = None) -> Tensor:
        """Reduce ``inputs`` (edges along ``node_dim``) into the ``dim_size`` targets ``index [E]``."""
        if self.aggr_module is None:
            raise NotImplementedError(f"{type(self).__name__}: aggr=None needs an aggregate() of the layer's own")
        reductions = self.reductions
        if reductions is None:
            return self.aggr_module(inputs, index, ptr=ptr, dim_size=dim_size, dim=self.node_dim)
        if self._current is not None and self._current[0] is index:
            graph = self._current[1]
        else:
            graph = SparseIndex.from_targets(index, dim_size)
        axis = self.node_dim % inputs.dim()
        moved = inputs.movedim(axis, 0)
        outs = [segment_reduce(moved, graph, r) for r in reductions]
        return torch.cat(outs, dim=-1).movedim(0, axis) if len(outs) > 1 else outs[0].movedim(0, axis)

    def message_and_aggregate(self, edge_index) -> Tensor:
        """Message and aggregation in one, called (when a layer implements it) for sparse adjacencies."""
        raise NotImplementedError

    def update(self, inputs: Tensor) -> Tensor:
        """Post-process the aggregated features (identity by default)."""
        return inputs

    def edge_updater(self, edge_index: Union[Tensor, SparseIndex],
                     size: Optional[tuple[Optional[int], Optional[int]]] = None, **kwargs: Any) -> Tensor:
        """Per-edge features from :meth:`edge_update`, which takes arguments as ``message`` does."""
        edge_index, size, kwargs = self._run_pre_hooks("edge_update_pre", (edge_index, size, kwargs))
        graph = _Graph(edge_index, size, self.flow)
        self._learn_sizes(graph, kwargs, ("edge_update",))
        out = self.edge_update(**self._collect("edge_update", graph, kwargs))
        return self._run_hooks("edge_update", (edge_index, size, kwargs), out)

    def edge_update(self) -> Tensor:
        """Compute per-edge features (a layer that calls :meth:`edge_updater` implements it)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _fuses_sparse(self, edge_index) -> bool:
        if not _implements(self, "message_and_aggregate") or not is_sparse_adjacency(edge_index):
            return False
        return self.aggr is None or (isinstance(self.aggr, str) and self.aggr in ("add", "sum", "mean", "min", "max"))

    def _fused_propagation(self, graph: "_Graph", kwargs: dict) -> Optional[Tensor]:
        reductions = self.reductions
        if reductions is None:
            return None
        values = {p.name: self._argument(p, graph, kwargs) for p in _parameters(type(self).message)[1:]
                  if p.name not in self.special_args and p.name[-2:] not in ("_i", "_j")}
        if any(value is inspect.Parameter.empty for value in values.values()):
            return None             # the gather-scatter path names what is missing
        form = self._message_form(frozenset(name for name, value in values.items() if value is None))
        if form is None:
            return None
        feature_name, weight_name, steps = form
        x = self._side(kwargs.get(feature_name[:-2]), graph, "j", set_sizes=False)
        if not isinstance(x, Tensor) or x.layout != torch.strided or x.dim() == 0:
            return None
        axis = self.node_dim % x.dim()
        weight = None
        if weight_name is not None:
            weight = _per_edge_weight(values[weight_name], steps, x, axis, graph.num_edges)
            if weight is None:
                return None
        index = graph.index()
        moved = x.movedim(axis, 0)
        width = math.prod(moved.shape[1:])
        if weight is not None and weight.dim() == 2:
            flat = moved.reshape(moved.shape[0], weight.shape[1], width // weight.shape[1])
        else:
            flat = moved.reshape(moved.shape[0], width)
            weight = None if weight is None else weight.to(x.dtype)
        outs = [spmm(index, flat, weight, r).reshape((index.num_dst,) + moved.shape[1:]) for r in reductions]
        out = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        return out.movedim(0, axis)

    def _gather_scatter(self, graph: "_Graph", kwargs: dict) -> Tensor:
        if self.decomposed_layers == 1:
            return self._message_and_reduce(graph, kwargs)
        names = {p.name[:-2] for p in _parameters(type(self).message)[1:] if p.name.endswith("_j")}
        chunks = {n: kwargs[n].chunk(self.decomposed_layers, -1) for n in names if isinstance(kwargs.get(n), Tensor)}
        outs = []
        for k in range(self.decomposed_layers):
            outs.append(self._message_and_reduce(graph, dict(kwargs, **{n: c[k] for n, c in chunks.items()})))
        return torch.cat(outs, dim=-1)

    def _message_and_reduce(self, graph: "_Graph", kwargs: dict) -> Tensor:
        arguments, = self._run_pre_hooks("message_pre", (self._collect("message", graph, kwargs),))
        messages = self._run_hooks("message", (arguments,), self.message(**arguments))
        arguments, = self._run_pre_hooks("aggregate_pre", (self._collect("aggregate", graph, kwargs, skip=1),))
        self._current = (arguments.get("index"), graph.index()) if "index" in arguments else None
        try:
            out = self.aggregate(messages, **arguments)
        finally:
            self._current = None
        return self._run_hooks("aggregate", (arguments,), out)

    @staticmethod
    def _argument(parameter: inspect.Parameter, graph: "_Graph", kwargs: dict):
        """A plain (not gathered, not special) argument as ``message`` would receive it, without gathering."""
        if kwargs.get(parameter.name) is not None:
            return kwargs[parameter.name]
        if parameter.name in graph.sparse_values:
            return graph.sparse_values[parameter.name]
        return kwargs.get(parameter.name, parameter.default)

    def _side(self, data, graph: "_Graph", side: str, set_sizes: bool):
        """The node tensor of one side (``"i"`` targets / ``"j"`` sources) of ``data``, recording its size."""
        position = graph.position(side)
        if isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValueError(f"propagate: a pair (source, target) of node tensors was expected, got a sequence "
                                 f"of {len(data)}")
            if set_sizes and isinstance(data[1 - position], Tensor):
                graph.set_size(1 - position, data[1 - position], self.node_dim)
            data = data[position]
        if set_sizes and isinstance(data, Tensor):
            graph.set_size(position, data, self.node_dim)
        return data

    def _learn_sizes(self, graph: "_Graph", kwargs: dict, methods: tuple[str, ...]) -> None:
        """Node counts from every node tensor the methods gather, before an index is built (as PyG does)."""
        for method in methods:
            for parameter in _parameters(getattr(type(self), method))[1:]:
                if parameter.name[-2:] in ("_i", "_j") and parameter.name not in self.special_args:
                    self._side(kwargs.get(parameter.name[:-2]), graph, parameter.name[-1], set_sizes=True)

    def _collect(self, method: str, graph: "_Graph", kwargs: dict, skip: int = 0) -> dict:
        function = getattr(type(self), method)
        parameters = _parameters(function)[1 + skip:]
        arguments = {}
        for parameter in parameters:
            name = parameter.name
            if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if name in self.special_args:
                value = graph.special(name)
            elif name[-2:] in ("_i", "_j"):
                value = self._side(kwargs.get(name[:-2]), graph, name[-1], set_sizes=False)
                if isinstance(value, Tensor):
                    value = value.index_select(self.node_dim, graph.endpoints(name[-1]))
                elif value is None and name[:-2] not in kwargs:
                    value = inspect.Parameter.empty
            else:
                value = self._argument(parameter, graph, kwargs)
            if value is inspect.Parameter.empty:
                if parameter.default is inspect.Parameter.empty:
                    raise TypeError(f"{type(self).__name__}.{method}: parameter {name!r} was not passed to propagate "
                                    f"(pass it by keyword, or name a node tensor with a '_i' / '_j' suffix)")
                value = parameter.default
            arguments[name] = value
        return arguments


def weighted_message(self, x_j: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
    """``w_e x_j`` (``x_j`` without weights): the message of GCN-style layers, as torch_geometric writes it.
    Propagation recognises it and runs one fused ``spmm``."""
    return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j


def sum_or_mean(total: Tensor, index: SparseIndex, reduction: str) -> Tensor:
    """A fused op's per-target sums ``total [num_dst, ...]`` as the ``"sum"`` or ``"mean"`` aggregation: the mean
    divides by each target's in-degree (a target without edges keeps its 0)."""
    if reduction == "sum":
        return total
    return total / index.in_degree().clamp(min=1).to(total.dtype).view(-1, *([1] * (total.dim() - 1)))


def _per_edge_weight(value, steps, x: Tensor, axis: int, num_edges: int) -> Optional[Tensor]:
    """The ``[E]`` or ``[E, H]`` weight ``spmm`` takes, when ``steps`` applied to ``value`` broadcast it per
    edge (or per edge and head) against the messages ``x_j``; ``None`` when they do something else."""
    if not isinstance(value, Tensor) or value.layout != torch.strided or not value.is_floating_point():
        return None
    try:
        broadcast = value
        for method, arguments in steps:
            broadcast = getattr(broadcast, method)(*arguments)
    except RuntimeError:
        return None
    shape = (1,) * (x.dim() - broadcast.dim()) + tuple(broadcast.shape)
    if len(shape) != x.dim() or shape[axis] != num_edges or any(s != 1 for s in shape[:axis]):
        return None
    trailing = shape[axis + 1:]
    if all(s == 1 for s in trailing):
        return broadcast.reshape(num_edges)
    if axis == 0 and x.dim() >= 3 and trailing[0] == x.shape[1] and all(s == 1 for s in trailing[1:]):
        return broadcast.reshape(num_edges, x.shape[1])
    return None


class _Graph:
    """One call's graph: the edges as given, the flow, the sizes learnt from the features, and the
    validated :class:`SparseIndex` built on first use."""

    def __init__(self, edge_index, size, flow: str):
        if size is not None and (not isinstance(size, (tuple, list)) or len(size) != 2):
            raise ValueError(f"size: expected a pair (N, M), got {size!r}")
        self.flow = flow
        self.i, self.j = (1, 0) if flow == "source_to_target" else (0, 1)
        self.sparse_values: dict = {}
        self._index: Optional[SparseIndex] = None
        if isinstance(edge_index, SparseIndex):
            # A SparseIndex says which way messages go (sources to targets), whatever the flow.
            self.i, self.j = 1, 0
            self.edges = edge_index.edge_index
            self.sizes = [edge_index.num_src, edge_index.num_dst]
            self._index = edge_index
        elif is_sparse_adjacency(edge_index):
            if flow != "source_to_target":
                raise ValueError("flow: 'target_to_source' does not apply to a sparse adjacency; pass its transpose")
            self.edges, values = adjacency_edges(edge_index)
            self.sizes = [edge_index.shape[1], edge_index.shape[0]]
            self.sparse_values = {"edge_weight": values, "edge_attr": values if values.dim() > 1 else None,
                                  "edge_type": values}
            self.adj_t = edge_index
        elif isinstance(edge_index, Tensor):
            if edge_index.dtype not in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
                raise TypeError(f"edge_index: expected an integer tensor, got dtype {edge_index.dtype}")
            if edge_index.dim() != 2 or edge_index.shape[0] != 2:
                raise ValueError(f"edge_index: expected shape [2, E], got {list(edge_index.shape)}")
            self.edges = edge_index
            sparse_size = getattr(edge_index, "sparse_size", None)
            known = list(sparse_size()) if callable(sparse_size) else [None, None]
            self.sizes = list(size) if size is not None else known
        else:
            raise TypeError(f"edge_index: expected an edge_index tensor [2, E], a geomlearn.sparse.SparseIndex or a "
                            f"torch.sparse adjacency, got {type(edge_index).__name__}")
        self.num_edges = self.edges.shape[1]

    def position(self, side: str) -> int:
        return self.j if side == "j" else self.i

    def set_size(self, position: int, tensor: Tensor, node_dim: int) -> None:
        count = tensor.shape[node_dim] if tensor.dim() else None
        if self.sizes[position] is None:
            self.sizes[position] = count
        elif self.sizes[position] != count:
            role = "source" if position == self.j else "target"
            raise ValueError(f"x: the graph has {self.sizes[position]} {role} nodes but a node tensor has {count} "
                             f"rows along node_dim")

    def _resolved_sizes(self) -> tuple[int, int]:
        known = [s for s in self.sizes if s is not None]
        if not known:
            inferred = int(self.edges.max()) + 1 if self.num_edges else 0
            return inferred, inferred
        return tuple(s if s is not None else known[0] for s in self.sizes)

    def index(self) -> SparseIndex:
        """Sources (``edge_index[j]``) to targets (``edge_index[i]``), checked against the node counts."""
        if self._index is None:
            sizes = self._resolved_sizes()
            self._index = SparseIndex(torch.stack([self.edges[self.j], self.edges[self.i]]).long(),
                                      num_nodes=(sizes[self.j], sizes[self.i]))
        return self._index

    def endpoints(self, side: str) -> Tensor:
        index = self.index()
        return index.src.long() if side == "j" else index.dst.long()

    def special(self, name: str):
        if name == "size":
            return list(self.sizes)
        if name in ("size_i", "size_j", "dim_size"):
            sizes = self._resolved_sizes()
            return sizes[self.j] if name == "size_j" else sizes[self.i]
        if name == "ptr":
            return None
        if name == "adj_t":
            return getattr(self, "adj_t", None)
        if name == "edge_index":
            return None if self.sparse_values else self.edges
        # index / edge_index_i / edge_index_j
        self.index()
        return self.endpoints("j") if name == "edge_index_j" else self.endpoints("i")


__all__ = ["MessagePassing", "weighted_message"]
