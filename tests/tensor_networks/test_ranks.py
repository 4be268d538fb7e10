import math

import pytest

from geomlearn.tensor_networks.ranks import cp_rank, tt_rank, tucker_rank


def test_int_tuple_and_fraction_ranks():
    assert cp_rank(4, (5, 6, 7)) == 4
    assert cp_rank(0.5, (10, 10, 10)) == round(0.5 * 1000 / 30)
    assert tucker_rank(2, (3, 4, 5)) == (2, 2, 2)
    ranks = tucker_rank(0.2, (10, 12, 14))
    assert math.prod(ranks) + sum(r * s for r, s in zip(ranks, (10, 12, 14))) <= 0.2 * 10 * 12 * 14
    assert tt_rank(3, (2, 4, 4, 2)) == (1, 2, 3, 2, 1)                 # the int is a maximum per bond
    assert tt_rank((2, 3, 2), (2, 4, 4, 2)) == (1, 2, 3, 2, 1)
    bonds = tt_rank(0.3, (6, 6, 6, 6))
    assert sum(bonds[n] * 6 * bonds[n + 1] for n in range(4)) <= 0.3 * 6 ** 4


def test_ranks_the_shape_cannot_hold_are_errors():
    with pytest.raises(ValueError, match="rank: expected at most 20"):
        cp_rank(21, (4, 5, 6))
    with pytest.raises(ValueError, match="rank: mode 1 has size 4, so its Tucker rank is at most 4; got 5"):
        tucker_rank((2, 5, 2), (3, 4, 5))
    with pytest.raises(ValueError, match="rank: bond 1 of shape \\[2, 4, 4, 2\\] holds at most 2, got 3"):
        tt_rank((3, 3, 2), (2, 4, 4, 2))
    with pytest.raises(ValueError, match="fraction of the dense parameter count in \\(0, 1\\]"):
        cp_rank(1.5, (4, 5, 6))
    with pytest.raises(ValueError, match="rank: expected an int >= 1"):
        cp_rank(0, (4, 5, 6))
