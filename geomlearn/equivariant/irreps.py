"""e3nn's ``Irreps``, the one type every equivariant layer takes, with the checks the layers share."""

from __future__ import annotations

import torch
from e3nn.o3 import Irreps
from torch import Tensor


def as_irreps(irreps, name: str = "irreps") -> Irreps:
    """``irreps`` as an e3nn ``Irreps`` (from a string such as ``"16x0e + 8x1o"``, a list or an ``Irreps``).

    Raises:
        ValueError: naming ``name``, when ``irreps`` does not parse.
    """
    try:
        return Irreps(irreps)
    except (ValueError, TypeError, AssertionError) as error:
        raise ValueError(f"{name}: expected e3nn irreps such as '16x0e + 8x1o', got {irreps!r} ({error})") from None


def check_features(x: Tensor, irreps: Irreps, name: str = "x") -> None:
    """``x`` must be floating-point ``[..., irreps.dim]``."""
    if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != irreps.dim or not x.is_floating_point():
        shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected floating-point features [..., {irreps.dim}] for irreps {irreps}, "
                         f"got {shape}")


def channels_of(irreps: Irreps, name: str = "irreps") -> int:
    """The one multiplicity ``C`` of every irrep in ``irreps``.

    Raises:
        ValueError: naming ``name``, when the irreps have different multiplicities.
    """
    channels = {mul for mul, _ in irreps}
    if len(channels) != 1:
        raise ValueError(f"{name}: expected every irrep with the same multiplicity (C copies of each degree), "
                         f"got {irreps}")
    return channels.pop()


def to_channel_major(x: Tensor, irreps: Irreps) -> Tensor:
    """e3nn's layout ``[..., C * sum(2l + 1)]`` (the copies of each irrep contiguous) -> ``[..., C, sum(2l + 1)]``
    (one copy of every irrep per channel), for irreps that all have multiplicity ``C``."""
    channels = channels_of(irreps)
    pieces = x.split([mul * ir.dim for mul, ir in irreps], dim=-1)
    return torch.cat([p.reshape(*x.shape[:-1], channels, ir.dim) for (_, ir), p in zip(irreps, pieces)], dim=-1)


def from_channel_major(x: Tensor, irreps: Irreps) -> Tensor:
    """The inverse of ``to_channel_major``: ``[..., C, sum(2l + 1)]`` -> ``[..., C * sum(2l + 1)]``."""
    pieces = x.split([ir.dim for _, ir in irreps], dim=-1)
    return torch.cat([p.reshape(*x.shape[:-2], -1) for p in pieces], dim=-1)
