"""exp, expm1, log1p and log that the CPU loops can vectorise.

Layer 0 of the kernels: imports only Numba. The pip builds of llvmlite have no vector math
library (SVML), so ``math.exp`` and ``math.log1p`` in a loop are one scalar libm call per element
and stop LLVM from vectorising the loop around them. These are the same functions written as
arithmetic only (a range reduction, a polynomial and, for exp, building ``2**k`` from its bits),
which LLVM turns into AVX instructions like any other arithmetic.

Accuracy (tests/test_elementary.py, against NumPy over the whole range): exp and expm1 within
2 ulps, log1p within 4, log (x >= 1) within 4; special values as libm (``exp(-inf) == 0``, ``exp(inf) == inf``, NaN in,
NaN out; subnormal results included).

``scalar.py`` calls ``exp``, ``expm1``, ``log1p_unit`` and ``log_ge1`` by these names. The CUDA kernels
(``cuda.py``) compile the same scalar functions with ``math.exp``, ``math.expm1``,
``math.log1p`` and ``math.log`` in their place (the GPU has its own fast libdevice versions), so
``DEVICE_EQUIVALENTS`` names the libm function each one stands for.
"""

import math
from typing import Any

from numba import njit, types
from numba.extending import intrinsic

LOG2E = 1.4426950408889634  # 1 / log(2)
LN2_HI = 0.6931471803691238  # log(2) split so that k * LN2_HI is exact for |k| < 2**11
LN2_LO = 1.9082149292705877e-10
ROUND = 6755399441055744.0  # 1.5 * 2**52: x + ROUND rounds x to an integer, kept in the low bits
EXP_ONE = 1023 << 52  # bits of 1.0
MANTISSA = (1 << 52) - 1  # the mantissa's bits
EXP_MAX = 710.0  # exp overflows above ~709.78 and underflows to 0 below ~-745.13
EXP_MIN = -746.0
# 1 / n! for n = 2 .. 13: Taylor series of (expm1(r) - r) / r**2 on |r| <= log(2)/2, where its
# first dropped term is below 2e-16 of the sum (lowest power first, for ``_poly12``)
_INV_FACT = tuple(1.0 / math.factorial(n) for n in range(2, 14))
SQRT2M1 = 0.41421356237309503  # sqrt(2) - 1
LN2 = 0.6931471805599453
# log(1 + x) = 2 atanh(s), s = x / (2 + x): 2 s (1 + s^2/3 + s^4/5 + ...), to s^22 (|s| <= 0.172)
_ATANH = tuple(1.0 / (2 * n + 1) for n in range(12))


# The decorator of every helper of the loops (here, in scalar.py and cpu.py): inlined into its
# caller by LLVM (``forceinline``), so constant arguments fold away and loops vectorise, and
# compiled without the wrappers that let Python or C call a function (only compiled code calls
# these). Each helper is still compiled once on its own before it is inlined; without the
# wrappers that compile is about a third shorter (focal's element-wise loop on an empty cache:
# 0.54-0.74 s against 0.82-1.22 s, four fresh processes each, timed directly). The two
# wrapper options are Numba's target options (its type stubs list only the public ones).
_HELPER_OPTIONS: dict[str, Any] = {"forceinline": True, "no_cpython_wrapper": True, "no_cfunc_wrapper": True}
inlined = njit(**_HELPER_OPTIONS)


@intrinsic
def _bits(typingctx, x):
    """The int64 with the same bits as the float64 x."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 with the same bits as the int64 i."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@njit(inline="always")
def _poly12(x, c):
    """c[0] + c[1] x + ... + c[11] x**11: the two leading terms by Horner's rule (they carry
    the result's last bits), the other ten by Estrin's scheme, regrouped so that the chain of
    dependent multiply-adds is six long instead of eleven. A vectorised loop around it is bound
    by that chain's latency more than by the count of operations (see the kernel table in
    benchmarks/results/kernels.md)."""
    x2 = x * x
    x4 = x2 * x2
    b0 = (c[2] + c[3] * x) + (c[4] + c[5] * x) * x2
    b1 = (c[6] + c[7] * x) + (c[8] + c[9] * x) * x2
    b2 = c[10] + c[11] * x
    return c[0] + x * (c[1] + x * ((b0 + b1 * x4) + b2 * (x4 * x4)))


@njit(inline="always")
def _exp_parts(x):
    """exp(x) = s1 * s2 * (1 + p): s1 * s2 = 2**k, k = round(x / log 2) split in two halves (so
    that 2**k may be subnormal or 2**1024 without overflowing one factor), p = expm1(r) for the
    remainder |r| <= log(2) / 2. NaN stays NaN (the clamps compare False)."""
    x = EXP_MAX if x > EXP_MAX else x
    x = EXP_MIN if x < EXP_MIN else x
    t = x * LOG2E + ROUND
    kf = t - ROUND
    k = _bits(t) - _bits(ROUND)
    r = (x - kf * LN2_HI) - kf * LN2_LO
    p = _poly12(r, _INV_FACT)
    k1 = k >> 1
    s1 = _from_bits((k1 << 52) + EXP_ONE)
    s2 = _from_bits(((k - k1) << 52) + EXP_ONE)
    return s1, s2, r + r * r * p, k


@inlined
def exp(x):
    s1, s2, p, k = _exp_parts(x)
    return (p + 1.0) * s1 * s2


@inlined
def expm1(x):
    s1, s2, p, k = _exp_parts(x)
    s = s1 * s2
    # near 0 (k = 0): p itself, exactly; for large x, 2**k * (1 + p) - 1 cannot cancel
    return s * p + (s - 1.0) if k < 60 else (p + 1.0) * s1 * s2 - 1.0


@inlined
def log1p_unit(x):
    """log(1 + x) for 0 <= x <= 1 (what the losses need: x = exp(-|m|)); relative accuracy
    holds down to the smallest x. Beyond sqrt(2) - 1 it works on (1 + x) / 2 and adds log 2."""
    big = x > SQRT2M1
    u = (2.0 * x - 2.0) / (x + 3.0) if big else (2.0 * x) / (x + 2.0)  # 2 s, exact down to 5e-324
    s2 = 0.25 * u * u
    p = _poly12(s2, _ATANH)
    return (LN2 if big else 0.0) + u * p


@inlined
def log_ge1(x):
    """log(x) for x >= 1 (what the softmax needs: a sum of exps whose largest is 1): x = 2**e m
    with 1 <= m < 2 read from the bits, e log 2 + log1p(m - 1); both terms >= 0, so nothing
    cancels. inf and NaN are returned as they are."""
    bits = _bits(x)
    e = (bits >> 52) - 1023
    m = _from_bits((bits & MANTISSA) | EXP_ONE)
    out = (e * LN2_LO + log1p_unit(m - 1.0)) + e * LN2_HI
    return x if not x < math.inf else out


DEVICE_EQUIVALENTS = {
    "exp": math.exp,
    "expm1": math.expm1,
    "log1p_unit": math.log1p,
    "log_ge1": math.log,
}
