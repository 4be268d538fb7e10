"""Per-type linear maps as one grouped matmul: torch_geometric's ``HeteroLinear`` and ``HeteroDictLinear`` on
:func:`~geomlearn.sparse.segment_matmul` (torch_geometric runs them as a Python loop over types unless the compiled
pyg-lib is installed)."""

from __future__ import annotations

from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter
from torch_geometric.nn import Linear
from torch_geometric.nn.dense.linear import reset_bias_, reset_weight_

from ..argument_checks import check_channels, check_int
from ..sparse import segment_matmul


class HeteroLinear(torch.nn.Module):
    r"""A separate linear map per type, :math:`y_n = x_n W_{t_n} + b_{t_n}`, as one
    :func:`~geomlearn.sparse.segment_matmul` over the rows grouped by type.

    A drop-in for ``torch_geometric.nn.HeteroLinear`` (``weight [T, in, out]``, ``bias [T, out]``; its keywords
    ``bias``, ``weight_initializer``, ``bias_initializer``; ``is_sorted`` skips the grouping sort when
    ``type_vec`` is already non-decreasing).

    Shapes:
        - input: ``x [N, in]``, ``type_vec [N]`` (ints in ``[0, num_types)``)
        - output: ``[N, out]`` in the input's row order
    """

    def __init__(self, in_channels: int, out_channels: int, num_types: int, is_sorted: bool = False, **kwargs):
        super().__init__()
        check_channels("in_channels", in_channels)
        check_channels("out_channels", out_channels)
        check_int("num_types", num_types)
        self.in_channels, self.out_channels, self.num_types = in_channels, out_channels, num_types
        self.is_sorted, self.kwargs = is_sorted, kwargs
        self.weight = torch.nn.Parameter(torch.empty(num_types, in_channels, out_channels))
        self.bias = torch.nn.Parameter(torch.empty(num_types, out_channels)) if kwargs.get("bias", True) else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_weight_(self.weight, self.in_channels, self.kwargs.get("weight_initializer"))
        reset_bias_(self.bias, self.in_channels, self.kwargs.get("bias_initializer"))

    def forward(self, x: Tensor, type_vec: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected [N, {self.in_channels}] (in_channels), got {list(x.shape)}")
        if type_vec.shape != (x.shape[0],) or type_vec.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"type_vec: expected an integer [{x.shape[0]}] tensor (the type of each row), got "
                             f"{list(type_vec.shape)} of dtype {type_vec.dtype}")
        if type_vec.numel() and (int(type_vec.min()) < 0 or int(type_vec.max()) >= self.num_types):
            raise ValueError(f"type_vec: types must lie in [0, {self.num_types}), got "
                             f"[{int(type_vec.min())}, {int(type_vec.max())}]")
        order = None
        if not self.is_sorted or bool((type_vec[1:] < type_vec[:-1]).any()):
            type_vec, order = torch.sort(type_vec, stable=True)
            x = x[order]
        ptr = torch.zeros(self.num_types + 1, dtype=torch.long, device=x.device)
        ptr[1:] = torch.cumsum(torch.bincount(type_vec, minlength=self.num_types), 0)
        out = segment_matmul(x, ptr, self.weight)
        if self.bias is not None:
            out = out + self.bias[type_vec]
        if order is not None:
            out = torch.empty_like(out).index_copy_(0, order, out)
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_types={self.num_types}, "
                f"bias={self.kwargs.get('bias', True)})")


class HeteroDictLinear(torch.nn.Module):
    r"""A separate linear map per key of a feature dictionary, :math:`y^t = x^t W_t^\top + b_t`, as one
    :func:`~geomlearn.sparse.segment_matmul`: the inputs are stacked by type (narrower inputs zero-padded to the
    widest, with their weights padded to match) and split again.

    A drop-in for ``torch_geometric.nn.HeteroDictLinear`` (parameters ``lins.<type>.weight`` / ``.bias``, its
    ``Linear`` keywords).

    Args:
        in_channels: one size for every type (with ``types``), or a ``{type: size}`` dictionary; -1 for a size read
            from the first input (torch_geometric's lazy initialisation).
        out_channels: output size.
        types: the types, when ``in_channels`` is one size.
        **kwargs: ``torch_geometric.nn.Linear``'s keywords (``bias``, initialisers).

    Shapes:
        - input: ``{type: [N_t, in_t]}`` for any subset of the types
        - output: ``{type: [N_t, out]}``, same keys
    """

    def __init__(self, in_channels: Union[int, dict[Any, int]], out_channels: int, types: Optional[list] = None,
                 **kwargs):
        super().__init__()
        if isinstance(in_channels, dict):
            if types is not None and set(types) != set(in_channels):
                raise ValueError(f"types: expected the keys of in_channels {list(in_channels)}, got {list(types)}")
            self.types = list(in_channels)
        else:
            if types is None:
                raise ValueError("types: expected the list of types when in_channels is one size, got None")
            self.types = list(types)
            in_channels = {key: in_channels for key in self.types}
        for key, size in in_channels.items():
            check_channels(f"in_channels[{key!r}]", size, lazy=True)
        check_channels("out_channels", out_channels)
        self.in_channels, self.out_channels, self.kwargs = dict(in_channels), out_channels, kwargs
        self.lins = torch.nn.ModuleDict({key: Linear(size, out_channels, **kwargs)
                                         for key, size in in_channels.items()})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins.values():
            lin.reset_parameters()

    def forward(self, x_dict: dict[Any, Tensor]) -> dict[Any, Tensor]:
        keys = [key for key in self.lins if key in x_dict]
        unknown = [key for key in x_dict if key not in self.lins]
        if unknown:
            raise KeyError(f"x_dict: no linear map for types {unknown}; this layer has {list(self.lins)}")
        if not keys:
            return {}
        for key in keys:
            if isinstance(self.lins[key].weight, UninitializedParameter):     # lazy: sized by the first input
                self.lins[key](x_dict[key][:0])
                self.in_channels[key] = self.lins[key].in_channels
            if x_dict[key].dim() != 2 or x_dict[key].shape[1] != self.in_channels[key]:
                raise ValueError(f"x_dict[{key!r}]: expected [N, {self.in_channels[key]}] (in_channels), got "
                                 f"{list(x_dict[key].shape)}")
        width = max(self.in_channels[key] for key in keys)
        rows = torch.cat([F.pad(x_dict[key], (0, width - x_dict[key].shape[1])) for key in keys])
        weight = torch.stack([F.pad(self.lins[key].weight.T, (0, 0, 0, width - self.in_channels[key]))
                              for key in keys])
        counts = torch.tensor([x_dict[key].shape[0] for key in keys], device=rows.device)
        ptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        out = segment_matmul(rows, ptr, weight)
        if self.kwargs.get("bias", True):
            bias = torch.stack([self.lins[key].bias for key in keys])
            out = out + bias.repeat_interleave(counts, dim=0)
        return dict(zip(keys, out.split(counts.tolist())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, bias={self.kwargs.get('bias', True)})"
