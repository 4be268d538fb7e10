"""Checks of integer and probability arguments shared by every family, with one wording for their errors.

Python counts ``True`` and ``False`` as ints; a size, a count or a degree given as a bool is a mistake, so
these checks refuse it. Only Python ints pass (not NumPy integers), so what is stored is always a Python int.
"""

from __future__ import annotations

import math
from typing import Optional


def is_int(value) -> bool:
    """``True`` for a Python int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name: str, value, minimum: int = 1, *, optional: bool = False, what: str = "an int") -> Optional[int]:
    """Return ``value`` if it is an int ``>= minimum`` (or ``None`` where ``optional``).

    Args:
        name: the argument's name, which starts the error message.
        value: what the caller received.
        minimum: the least value allowed.
        optional: accept ``None`` as well.
        what: what the argument is, for the message (``"a degree"``, ``"a stalk dimension"``).

    Raises:
        ValueError: ``"{name}: expected {what} >= {minimum}, got {value!r}"`` (``"None or ..."`` where optional).
    """
    if optional and value is None:
        return None
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name}: expected {'None or ' if optional else ''}{what} >= {minimum}, got {value!r}")
    return value


def check_probability(name: str, value, what: str = "a dropout probability", *, one: bool = True) -> float:
    """Return ``value`` if it is a real number in ``[0, 1]`` (``torch.nn.functional.dropout``'s range: 1 drops
    everything), or in ``[0, 1)`` with ``one=False`` (where a rate of 1 would divide by zero).

    Raises:
        ValueError: ``"{name}: expected {what} in [0, 1], got {value!r}"`` (``[0, 1)``); bools, strings, NaN and
            tensors too.
    """
    interval = "[0, 1]" if one else "[0, 1)"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 1 if one else 0 <= value < 1):
        raise ValueError(f"{name}: expected {what} in {interval}, got {value!r}")
    return value


def check_real(name: str, value, minimum: Optional[float] = None, *, what: str = "a finite number",
               strict: bool = False) -> float:
    """Return ``value`` if it is a finite real number (``>= minimum``, or ``> minimum`` where ``strict``).

    Raises:
        ValueError: ``"{name}: expected {what} [>= or > minimum], got {value!r}"``; bools, strings, NaN, inf and
            tensors too.
    """
    real = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    bounded = minimum is None or (real and (value > minimum if strict else value >= minimum))
    if not (real and bounded):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum}"
        raise ValueError(f"{name}: expected {what}{bound}, got {value!r}")
    return value


def check_channels(name: str, value, *, lazy: bool = False, pair: bool = False):
    """Return ``value`` if it is a feature size: an int >= 1, or -1 where ``lazy`` (inferred from the first input,
    as in torch_geometric), or where ``pair`` a pair of those (source and target sizes of a bipartite layer).

    Raises:
        ValueError: naming ``name``, the sizes allowed and the value received.
    """
    def fits(size) -> bool:
        return is_int(size) and (size >= 1 or (lazy and size == -1))

    if fits(value) or (pair and isinstance(value, tuple) and len(value) == 2 and all(map(fits, value))):
        return value
    allowed = "an int >= 1" + (" or -1 (lazy: inferred from the first input)" if lazy else "")
    raise ValueError(f"{name}: expected {allowed}{', or a pair of them' if pair else ''}, got {value!r}")


def check_width(name: str, value, expected: int, what: str = "in_channels") -> None:
    """``value``'s last dimension is ``expected`` (nothing to check while a lazy size is still -1).

    Raises:
        ValueError: ``"{name}: expected {expected} features in the last dimension ({what}), got shape [...]"``.
    """
    if expected >= 0 and value.shape[-1] != expected:
        raise ValueError(f"{name}: expected {expected} features in the last dimension ({what}), got shape "
                         f"{list(value.shape)}")
