"""An ``exp`` that numba's loops can vectorise, for the CPU kernels that take one per edge and channel.

numba's PyPI build has no vector math library (SVML), so ``np.exp`` in a kernel's inner loop stays a scalar libm
call and dominates kernels such as the sigmoid gate of :func:`~geomlearn.sparse.gated_spmm`. :func:`vector_exp` is
straight-line arithmetic that LLVM vectorises: Cody–Waite range reduction ``x = n ln 2 + r`` with ``|r| <= ln 2 / 2``,
a Taylor polynomial for ``e^r`` (degree 7 in float32: truncation error below ``6e-9`` relative, under float32's
rounding), and ``2^n`` written straight into the exponent bits. float64 inputs take ``np.exp`` unchanged, so
float64 results (and gradchecks) keep libm's accuracy.

Inputs beyond float32's range of ``e^x`` are held at its ends (``x`` in ``[-87, 88]``): ``e^x`` there is below
``1.7e-38`` or above ``1.6e38``, so a ratio such as the sigmoid ``1 / (1 + e^{-z})`` differs from the unclamped one by
less than ``1e-38``. NaN passes through as NaN.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_LOG2E = 1.4426950408889634
_LN2_HIGH = 0.693359375                 # ln 2 = _LN2_HIGH + _LN2_LOW, _LN2_HIGH exact in 9 bits
_LN2_LOW = -2.12194440054690583e-4
_LOWEST, _HIGHEST = -87.0, 88.0         # 2^n stays a normal float32: n in [-126, 127]


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret the low 32 bits of an integer as a float32 (an LLVM bitcast, which vectorises)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = args[0] if bits.bitwidth == 32 else builder.trunc(args[0], ir.IntType(32))
        return builder.bitcast(low, ir.FloatType())

    return types.float32(bits), codegen


def vector_exp(x):
    """``e^x``, vectorisable for float32 (see the module's notes); only callable from numba-compiled code."""
    raise TypeError("vector_exp is a numba kernel helper; call it from an @njit function")


@overload(vector_exp)
def _vector_exp(x):
    if x == types.float32:
        def exp32(x):
            x = np.float32(_LOWEST) if x < np.float32(_LOWEST) else x           # NaN compares false: kept
            x = np.float32(_HIGHEST) if x > np.float32(_HIGHEST) else x
            n = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
            r = x - n * np.float32(_LN2_HIGH) - n * np.float32(_LN2_LOW)
            p = np.float32(1 / 5040)
            p = p * r + np.float32(1 / 720)
            p = p * r + np.float32(1 / 120)
            p = p * r + np.float32(1 / 24)
            p = p * r + np.float32(1 / 6)
            p = p * r + np.float32(0.5)
            p = p * r * r + r + np.float32(1)
            return p * _float32_from_bits((np.int64(n) + 127) << 23)
        return exp32
    if isinstance(x, types.Float):
        return lambda x: np.exp(x)
    return None
