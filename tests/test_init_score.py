"""init_score is the optimal constant: it matches a numeric minimiser of the weighted mean loss
and zeroes the weighted gradient sum."""

import numpy as np
import pytest
from conftest import ALL_CASES, K, build, make_data
from scipy.optimize import minimize, minimize_scalar


def _mean_loss(loss, y, w, c, n_out):
    raw = np.broadcast_to(np.asarray(c, float), (len(y), n_out) if n_out else (len(y),)).copy()
    return loss.mean(y, raw, w)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_init_score_is_optimal(name, params, problem, weighted):
    y, _, w = make_data(problem, n=301, seed=3)
    w = w if weighted else None
    # the start is the optimal constant of the loss the first round trains (Tukey / Welsch: their
    # Cauchy warm-up; every other loss: itself)
    loss = build(name, params).at_round(0)
    multi_quantile = problem == "reg_multi" and name == "quantile"
    if problem == "multi":
        c = loss.init_score(y, w, n_classes=K)
        assert c.shape == (K,) and abs(c.sum()) < 1e-9  # centred
        n_out = K
    elif problem == "reg_multi" and not multi_quantile:
        y = np.repeat(y[:, None], K, axis=1) + np.arange(K)
        c = loss.init_score(y, w)
        assert c.shape == (K,)
        n_out = K
    else:
        c = loss.init_score(y, w)
        n_out = K if multi_quantile else 0
        assert np.shape(c) == ((K,) if multi_quantile else ())
    best = _mean_loss(loss, y, w, c, n_out)
    # numeric minimiser over the constant
    if n_out:
        start = np.zeros(n_out) if problem == "multi" else np.full(n_out, np.median(y))
        res = minimize(
            lambda x: _mean_loss(loss, y, w, x, n_out),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000},
        )
        other = res.fun
    else:
        lo, hi = (float(np.min(y)), float(np.max(y))) if problem == "reg" else (-20.0, 20.0)
        other = minimize_scalar(
            lambda x: _mean_loss(loss, y, w, x, 0), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
        ).fun
    assert best <= other + 1e-9 * max(1.0, abs(other))
    # first-order condition: the weighted gradient sum is ~0 (quantile: 0 lies in the subdifferential)
    raw = np.broadcast_to(np.asarray(c, float), (len(y), n_out) if n_out else (len(y),)).copy()
    g, _ = loss.with_hessian("exact").grad_hess(y, raw, w)  # the loss's true gradient
    total = g.sum(axis=0)
    scale = np.sum(np.abs(g), axis=0)
    if name == "quantile":
        ww = np.ones(len(y)) if w is None else w
        alphas = loss.alphas
        yy = y[:, None] if raw.ndim == 2 else y
        ties = (yy == raw) * (ww[:, None] if raw.ndim == 2 else ww)
        # moving the tied rows to the other side changes the sum by at most tie weight
        assert np.all(np.abs(total) <= ties.sum(axis=0) + 1e-9 * scale), (total, alphas)
    else:
        assert np.all(np.abs(total) <= 1e-7 * scale), total


def test_closed_forms():
    import gbobjectives as gb

    y = np.array([0, 0, 0, 1.0])
    w = np.array([1.0, 1.0, 1.0, 3.0])
    assert gb.CrossEntropy().init_score(y, w) == pytest.approx(0.0, abs=1e-12)
    assert gb.CrossEntropy().init_score(y) == pytest.approx(np.log(1 / 3))
    c = gb.CrossEntropy().init_score(np.array([0, 1, 1, 2, 2, 2.0]), n_classes=3)
    np.testing.assert_allclose(c, np.log([1, 2, 3]) - np.log([1, 2, 3]).mean())
    yq = np.arange(1.0, 101.0)
    assert gb.Quantile(0.9).init_score(yq) == 90.0
    np.testing.assert_array_equal(gb.Quantile([0.1, 0.5]).init_score(yq), [10.0, 50.0])
    assert gb.Huber(1e6).init_score(yq, yq) == pytest.approx(np.average(yq, weights=yq), rel=1e-10)
