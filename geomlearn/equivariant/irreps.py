"""e3nn's ``Irreps``, the one type every equivariant layer takes, with the checks the layers share."""

from __future__ import annotations

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
