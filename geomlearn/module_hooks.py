"""Whether a module's call can be observed, for layers that apply a submodule's parameters directly instead of
calling it (to fuse or reorder its arithmetic): they do so only when no hook would miss the call."""

from __future__ import annotations

import torch
from torch_geometric.nn import Linear as PygLinear


def has_hooks(module: torch.nn.Module) -> bool:
    """Whether calling ``module`` would run a forward or backward hook, its own or a global one."""
    own = (module._forward_hooks, module._forward_pre_hooks, module._backward_hooks, module._backward_pre_hooks)
    hooks = torch.nn.modules.module
    return any(own) or any((hooks._global_forward_hooks, hooks._global_forward_pre_hooks,
                            hooks._global_backward_hooks, hooks._global_backward_pre_hooks))


def is_plain_linear(module: object) -> bool:
    """Whether ``module(x)`` is exactly ``F.linear(x, module.weight, module.bias)``, so that a layer may apply the
    parameters itself: a ``torch.nn.Linear`` or torch_geometric ``Linear`` (the exact types; a subclass may change
    its forward), with initialised parameters (not a lazy layer before its first call) and no hooks."""
    return (type(module) in (torch.nn.Linear, PygLinear) and not has_hooks(module)
            and not isinstance(module.weight, torch.nn.parameter.UninitializedParameter))
