"""The vectorisable exp of the CPU kernels against float64 libm: accuracy over float32's range, the held ends,
NaN, and float64 left to np.exp."""

import numpy as np
import pytest
from numba import njit

from geomlearn.sparse.kernels.vector_exp import vector_exp


@njit(cache=False)
def _each(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_exp(x[i])


def _apply(x):
    out = np.empty_like(x)
    _each(x, out)
    return out


def test_float32_is_within_two_ulps_of_the_exact_value():
    x = np.linspace(-87, 88, 2_000_001, dtype=np.float32)
    exact = np.exp(x.astype(np.float64))
    got = _apply(x)
    assert got.dtype == np.float32
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - exact) / ulp) <= 2.0


def test_float32_at_the_reduction_boundaries_and_integers():
    # n ln 2 and the half-way points between them, where the reduction changes its integer
    n = np.arange(-125, 127, dtype=np.float64)
    x = np.concatenate([n * np.log(2), (n + 0.5) * np.log(2), np.arange(-80, 80)]).astype(np.float32)
    np.testing.assert_allclose(_apply(x), np.exp(x.astype(np.float64)), rtol=2.5e-7)


def test_ends_are_held_and_nan_passes():
    x = np.array([np.nan, np.inf, -np.inf, 1e4, -1e4, 88.0, -87.0], dtype=np.float32)
    got = _apply(x)
    assert np.isnan(got[0])
    assert got[1] == got[3] == np.float32(np.exp(88.0)) and np.isfinite(got[1])
    assert got[2] == got[4] == np.float32(np.exp(-87.0)) and got[2] > 0
    ratio = 1 / (1 + got[1:3])                    # a sigmoid at the ends: within 1e-38 of 0 and 1
    assert ratio[0] < 1e-38 and ratio[1] == 1


def test_float64_keeps_full_precision():
    x = np.linspace(-700, 700, 100_001)
    np.testing.assert_allclose(_apply(x), np.exp(x), rtol=4.5e-16)          # within two ulps of numpy's


def test_calling_from_python_is_an_error():
    with pytest.raises(TypeError, match="numba kernel helper"):
        vector_exp(1.0)
