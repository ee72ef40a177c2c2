"""exp for the kernels' weights, vectorisable: 2^x from its exponent bits and a polynomial.

A libm call in a loop over a row stops LLVM from vectorising it; these are
branch-free float32 arithmetic instead, accurate to a relative 5e-6.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .._config import FASTMATH

#: Weights exp(-y) with y >= CUTOFF are 0 (w < 1e-13).
CUTOFF = 30.0
#: log2(e): exp(-y) = 2^(-y LOG2E).
LOG2E = 1.4426950408889634


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float32 whose IEEE bits are the int32 `bits` (a free register bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _float_to_bits(typingctx, value):
    """The IEEE bits of the float32 `value` as an int32."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@njit(cache=True, fastmath=FASTMATH)
def pow2(x):
    """2^x for -CUTOFF log2(e) < x <= 0 (float32), else 0; relative error < 1e-5.

    x = n + r with n the nearest integer: a degree-4 minimax polynomial gives 2^r
    on [-1/2, 1/2] (relative error 2.7e-6) and n is added to its exponent bits.
    No libm call, no branch, few multiplies: the loops over a row vectorise, and
    the multiply units are what bound them.
    """
    floor = np.float32(-CUTOFF * LOG2E)
    xc = max(x, floor)
    # Adding 1.5 * 2^23 rounds xc (|xc| < 2^22) to an integer n held in the low
    # mantissa bits of the sum (cheaper than float -> int -> float).
    n = np.int32(_float_to_bits(xc + np.float32(12582912.0)) - np.int32(0x4B400000))
    r = xc - np.float32(n)
    p = np.float32(0.99999926) + r * (np.float32(0.69312182) + r * (np.float32(0.24024745) + r * (
        np.float32(0.05591784) + r * np.float32(0.00957008))))
    p = _bits_to_float(np.int32(_float_to_bits(p) + np.int32(n << np.int32(23))))
    return p if x > floor else np.float32(0.0)


@njit(cache=True, fastmath=FASTMATH)
def neg_exp(y):
    """exp(-y) for 0 <= y (float32), 0 for y >= CUTOFF; relative error < 1e-5."""
    return pow2(y * np.float32(-LOG2E))
