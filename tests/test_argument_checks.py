import math

import numpy as np
import pytest

from geomlearn.argument_checks import check_int, check_probability, is_int


def test_is_int_accepts_python_ints_only():
    assert is_int(3) and is_int(-2)
    assert not is_int(True) and not is_int(np.int64(3)) and not is_int(3.0) and not is_int("3")


def test_check_int_returns_the_value_it_accepts():
    assert check_int("k", 5) == 5
    assert check_int("k", 0, 0) == 0
    assert check_int("k", None, optional=True) is None


@pytest.mark.parametrize("value", [0, -1, True, 2.0, "2", None])
def test_check_int_names_the_argument_the_bound_and_the_value(value):
    with pytest.raises(ValueError, match=rf"^k: expected an int >= 1, got {value!r}$"):
        check_int("k", value)


def test_check_int_message_says_what_the_argument_is_and_that_none_is_allowed():
    with pytest.raises(ValueError, match=r"^l: expected a degree >= 0, got -1$"):
        check_int("l", -1, 0, what="a degree")
    with pytest.raises(ValueError, match=r"^patience: expected None or an int >= 1, got 0$"):
        check_int("patience", 0, optional=True)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.999, 1, 1.0])
def test_check_probability_returns_a_rate_in_torch_s_closed_interval(value):
    assert check_probability("dropout", value) == value


@pytest.mark.parametrize("value", [1.5, -0.1, math.nan, True, "0.5", None])
def test_check_probability_names_the_argument_the_interval_and_the_value(value):
    with pytest.raises(ValueError, match=rf"^dropout: expected a dropout probability in \[0, 1\], got {value!r}$"):
        check_probability("dropout", value)


@pytest.mark.parametrize("value", [1, 1.0])
def test_a_rate_of_one_is_refused_where_it_would_divide_by_zero(value):
    with pytest.raises(ValueError, match=r"^dropout: expected a dropout probability in \[0, 1\), got 1"):
        check_probability("dropout", value, one=False)


def test_check_real_accepts_finite_numbers_within_the_bound():
    from geomlearn.argument_checks import check_real

    assert check_real("eps", 0) == 0 and check_real("eps", 2.5, 0, strict=True) == 2.5
    for value, minimum, strict in ((math.inf, None, False), (math.nan, None, False), (True, None, False),
                                   ("1", None, False), (-1.0, 0, False), (0.0, 0, True)):
        with pytest.raises(ValueError, match=r"^eps: expected a finite number"):
            check_real("eps", value, minimum, strict=strict)


def test_check_channels_and_width():
    from geomlearn.argument_checks import check_channels, check_width

    assert check_channels("in_channels", 4) == 4 and check_channels("in_channels", -1, lazy=True) == -1
    assert check_channels("in_channels", (3, -1), lazy=True, pair=True) == (3, -1)
    for value, options in ((0, {}), (-1, {}), (2.5, {}), (True, {}), ((3, 4), {}), ((3, 0), {"pair": True}),
                           (-2, {"lazy": True})):
        with pytest.raises(ValueError, match=r"^in_channels: expected an int >= 1"):
            check_channels("in_channels", value, **options)
    check_width("x", np.zeros((2, 4)), 4)
    check_width("x", np.zeros((2, 5)), -1)
    with pytest.raises(ValueError, match=r"^x: expected 4 features in the last dimension \(in_channels\), got "
                                         r"shape \[2, 5\]$"):
        check_width("x", np.zeros((2, 5)), 4)
