"""check_gradients works for user-written losses and catches wrong derivatives."""

import numpy as np
import pytest

import gbobjectives as gb


class Cauchy:
    """A user's loss with the public interface: c^2/2 log(1 + (r/c)^2)."""

    hessian = "exact"

    def __init__(self, c=1.0, bug=None):
        self.c, self.bug = c, bug

    def value(self, y, raw, sample_weight=None):
        r = raw - y
        v = 0.5 * self.c**2 * np.log1p((r / self.c) ** 2)
        return v if sample_weight is None else v * sample_weight

    def grad_hess(self, y, raw, sample_weight=None):
        r = raw - y
        q = 1 + (r / self.c) ** 2
        g = r / q
        h = (1 - (r / self.c) ** 2) / q**2
        if self.bug == "grad":
            g = g * 1.001
        if self.bug == "hess":
            h = 1 / q  # a majorizer, not the second derivative
        w = 1.0 if sample_weight is None else sample_weight
        return g * w, h * w


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=200), rng.normal(scale=3, size=200), rng.uniform(0.5, 2, 200)


def test_user_loss_passes():
    y, raw, w = _data()
    check = gb.check_gradients(Cauchy(0.7), y, raw, w)
    assert check.ok(rtol=1e-7, atol=1e-9)
    assert check.grad_rel.max() < 1e-7 and check.hess_rel.max() < 1e-6
    assert check.n_checked[0] == 200


@pytest.mark.parametrize("bug", ["grad", "hess"])
def test_wrong_derivatives_are_caught(bug):
    y, raw, w = _data()
    check = gb.check_gradients(Cauchy(0.7, bug=bug), y, raw, w)
    assert not check.ok(rtol=1e-6, atol=1e-8)
    worst = check.grad_rel if bug == "grad" else check.hess_rel
    assert worst.max() > 1e-4


def test_default_curvature_is_not_exact_so_exact_is_checked():
    y, raw, _ = _data()
    loss = gb.LogCosh(0.5)
    assert gb.check_gradients(loss, y, raw).hessian == "exact"
    unchecked = gb.check_gradients(loss, y, raw, exact=False)
    assert unchecked.hessian == "majorizer" and not unchecked.ok()


def test_kinks_are_skipped():
    y = np.zeros(6)
    raw = np.array([1.0, 1.0 + 1e-4, -1.0, 0.5, 2.0, -3.0])  # delta = 1: kinks at |r| = 1
    check = gb.check_gradients(gb.Huber(1.0), y, raw)
    assert check.n_checked[0] == 3
    assert check.ok()
