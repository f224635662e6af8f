"""The vectorisable exp / expm1 / log1p / log of kernels/elementary.py against NumPy's libm versions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from gbobjectives.kernels import elementary as el

TINY = np.finfo(np.float64).tiny  # smallest normal


@njit
def _apply(which, x, out):
    for i in range(x.shape[0]):
        if which == 0:
            out[i] = el.exp(x[i])
        elif which == 1:
            out[i] = el.expm1(x[i])
        elif which == 2:
            out[i] = el.log1p_unit(x[i])
        else:
            out[i] = el.log_ge1(x[i])


NAMES = ("exp", "expm1", "log1p_unit", "log_ge1")


def apply(name, x):
    out = np.empty_like(x)
    _apply(NAMES.index(name), x, out)
    return out


def ulps(got, ref):
    """Error in units of the last place of the reference (subnormal spacing below TINY)."""
    spacing = np.spacing(np.maximum(np.abs(ref), TINY))
    return np.abs(got - ref) / spacing


RANGES = [(-1.0, 1.0), (-40.0, 40.0), (-745.2, 709.78), (-1e-8, 1e-8), (-760.0, -700.0), (700.0, 709.78)]


@pytest.mark.parametrize(("lo", "hi"), RANGES)
def test_exp_within_two_ulps_everywhere(lo, hi):
    x = np.random.default_rng(0).uniform(lo, hi, 100_000)
    with np.errstate(over="ignore"):
        assert ulps(apply("exp", x), np.exp(x)).max() <= 2.0


@pytest.mark.parametrize(("lo", "hi"), RANGES)
def test_expm1_within_two_ulps_everywhere(lo, hi):
    x = np.random.default_rng(1).uniform(lo, hi, 100_000)
    with np.errstate(over="ignore"):
        assert ulps(apply("expm1", x), np.expm1(x)).max() <= 2.0


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (0.0, 1e-12), (0.4, 0.43), (0.999, 1.0)])
def test_log1p_unit_within_two_ulps(lo, hi):
    x = np.random.default_rng(2).uniform(lo, hi, 100_000)
    assert ulps(apply("log1p_unit", x), np.log1p(x)).max() <= 4.0


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1e-12), (0.0, 1.0), (0.0, 3.0), (0.0, 709.0)])
def test_log_ge1_within_four_ulps(lo, hi):
    """x = exp(u) >= 1: from just above 1 (where log x ~ x - 1 must keep its relative accuracy)
    to near the largest double."""
    x = np.exp(np.random.default_rng(3).uniform(lo, hi, 100_000))
    assert ulps(apply("log_ge1", x), np.log(x)).max() <= 4.0  # log1p_unit's bound


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1.0, max_value=1.7976931348623157e308))
def test_log_ge1_fuzzed(x):
    a = np.array([x])
    assert ulps(apply("log_ge1", a), np.log(a))[0] <= 4.0


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-800.0, max_value=709.7))
def test_exp_and_expm1_fuzzed(x):
    a = np.array([x])
    assert ulps(apply("exp", a), np.exp(a))[0] <= 2.0
    assert ulps(apply("expm1", a), np.expm1(a))[0] <= 2.0


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0))
def test_log1p_unit_fuzzed(x):
    a = np.array([x])
    assert ulps(apply("log1p_unit", a), np.log1p(a))[0] <= 4.0


def test_special_values_as_libm():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 709.79, -745.2, -1e308, 1e308, 5e-324])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(apply("exp", x), np.exp(x))
        np.testing.assert_array_equal(apply("expm1", x), np.expm1(x))
    # subnormal results, not flushed to zero
    assert 0.0 < apply("exp", np.array([-740.0]))[0] < TINY
    u = np.array([0.0, 5e-324, 1e-300, 1.0, np.nan])
    np.testing.assert_array_equal(apply("log1p_unit", u), np.log1p(u))
    v = np.array([1.0, 2.0, 4.0, np.inf, np.nan])
    np.testing.assert_array_equal(apply("log_ge1", v), np.log(v))


def test_device_equivalents_name_every_function():
    assert set(el.DEVICE_EQUIVALENTS) == set(NAMES)
    for name, f in el.DEVICE_EQUIVALENTS.items():
        x = 1.5  # in every function's domain (log1p_unit: [0, 1] after the shift below)
        x = x - 1.0 if name == "log1p_unit" else x
        assert f(x) == pytest.approx(float(apply(name, np.array([x]))[0]), rel=1e-15)
        assert f in (math.exp, math.expm1, math.log1p, math.log)
