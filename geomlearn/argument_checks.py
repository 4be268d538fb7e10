"""Checks of integer and probability arguments shared by every family, with one wording for their errors.

Python counts ``True`` and ``False`` as ints; a size, a count or a degree given as a bool is a mistake, so
these checks refuse it. Only Python ints pass (not NumPy integers), so what is stored is always a Python int.
"""

from __future__ import annotations

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


def check_probability(name: str, value, what: str = "a dropout probability") -> float:
    """Return ``value`` if it is a real number in ``[0, 1)`` (a dropout rate: 1 would drop everything).

    Raises:
        ValueError: ``"{name}: expected {what} in [0, 1), got {value!r}"``; bools, strings, NaN and tensors too.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected {what} in [0, 1), got {value!r}")
    return value
