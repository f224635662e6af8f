"""Redescending losses and the adaptive robust scale: bad input, the scale's fallbacks, the
warm-up schedule, LightGBM's leaf floor, and stability under gross label errors at the
estimators' defaults."""

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import mean_absolute_error

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx
from gbobjectives.losses import robust_scale

ROBUST = [gb.Cauchy, gb.Tukey, gb.Welsch]
SCALED = [*ROBUST, gb.Huber, gb.PseudoHuber, gb.LogCosh]


@pytest.mark.parametrize("cls", SCALED)
@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf, "foo", "Adaptive"])
def test_bad_scale_raises(cls, bad):
    with pytest.raises(ValueError, match=r"(delta|scale) must be"):
        cls(bad)


@pytest.mark.parametrize("cls", SCALED)
@pytest.mark.parametrize("bad", [0.0, -2.0, np.nan, "x"])
def test_bad_c_raises(cls, bad):
    with pytest.raises(ValueError, match="c must be"):
        cls("adaptive", c=bad)


@pytest.mark.parametrize("cls", [gb.Tukey, gb.Welsch])
@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_warmup_raises(cls, bad):
    with pytest.raises(ValueError, match="warmup must be"):
        cls(warmup=bad)


def test_registry_names_build_the_adaptive_losses():
    for name, cls in [("cauchy", gb.Cauchy), ("tukey", gb.Tukey), ("welsch", gb.Welsch), ("biweight", gb.Tukey)]:
        loss = gb.get_loss(name)
        assert type(loss) is cls and loss.adaptive and loss.c == cls.efficiency_c


def test_adaptive_scale_is_c_times_normalised_mad():
    rng = np.random.default_rng(0)
    y, raw = rng.normal(size=500), rng.normal(size=500)
    r = raw - y
    mad = np.median(np.abs(r - np.median(r)))
    for cls in SCALED:
        loss = cls("adaptive")
        assert loss.loss_scale(y[:, None], raw)[0] == pytest.approx(loss.c * 1.4826 * mad, rel=2e-3)


def test_collapsed_scale_falls_back_without_nan():
    """More than half the residuals equal (a MAD of 0): the mean deviation; all equal but not
    0: their size, so that the shift is still fitted; all 0: a tiny positive scale."""
    y = np.arange(10.0)
    raw = y.copy()
    raw[:3] += [1.0, -2.0, 4.0]  # 7 of 10 residuals are 0
    s = robust_scale(y, raw)[0]
    assert s == pytest.approx(1.2533 * np.mean(np.abs([1.0, 2.0, 4.0] + [0.0] * 7)), rel=1e-3)
    shifted = y + 3.0  # every residual 3
    assert robust_scale(y, shifted)[0] == pytest.approx(1.2533 * 3.0, rel=1e-3)
    assert 0 < robust_scale(y, y)[0] < 1e-9
    for cls in SCALED:
        for r in (raw, shifted, y):
            g, h = cls("adaptive").grad_hess(y, r)
            assert np.isfinite(g).all() and np.isfinite(h).all()
        g, _ = cls("adaptive").grad_hess(y, shifted)
        assert np.all(g > 0.1)  # the common shift still pulls: the gradient is not ~0


def test_weighted_median_skips_zero_weight_rows():
    """A tie at half the weight averages the two rows around it that have weight, as np.median
    of the rows repeated by their weights does."""
    from gbobjectives.losses.regression import _weighted_median

    rng = np.random.default_rng(2)
    for _ in range(200):
        x, w = rng.normal(size=9), rng.integers(0, 3, 9).astype(float)
        if w.sum() == 0:
            continue
        assert _weighted_median(x, w) == np.median(np.repeat(x, w.astype(int)))


def test_frozen_copy_has_fixed_scale_and_no_warmup():
    rng = np.random.default_rng(1)
    y, raw = rng.normal(size=200), np.zeros(200)
    loss = gb.Tukey(warmup=7)
    frozen = loss.frozen(y, raw)
    assert not frozen.adaptive and frozen.warmup == 0
    assert frozen.scale == pytest.approx(loss.loss_scale(y[:, None], raw)[0])
    assert frozen.frozen(y, raw + 5) is frozen  # fixed: it does not follow other residuals
    assert type(frozen.at_round(0)) is gb.Tukey


def test_warmup_schedule():
    assert gb.Tukey().for_training(300).warmup == 150
    assert gb.Tukey(warmup=5).for_training(300).warmup == 5
    first = gb.Tukey(warmup=2).at_round(0)
    assert type(first) is gb.Cauchy and first.adaptive and first.c == gb.Cauchy.efficiency_c
    assert type(gb.Tukey(warmup=2).at_round(2)) is gb.Tukey
    # a fixed scale keeps its size relative to each loss's constant
    assert gb.Welsch(3.0, warmup=1).at_round(0).scale == pytest.approx(3.0 * 2.385 / 2.985)


def _dirty(n=600, frac=0.3, seed=0):
    """Friedman #1 with a fraction of the training targets multiplied by 5-20 (one-sided gross
    errors); clean test targets."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(2 * n, noise=1.0, random_state=seed)
    Xtr, ytr, Xte, yte = X[:n], y[:n].copy(), X[n:], y[n:]
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < frac
    ytr[bad] *= rng.uniform(5, 20, bad.sum())
    return Xtr, ytr, Xte, yte


def test_warmup_rounds_train_cauchy_then_tukey():
    Xtr, ytr, _, _ = _dirty(n=300)
    d = xgb.DMatrix(Xtr, label=ytr)
    params = {"max_depth": 3}

    def margin(loss, rounds):
        return gx.train(loss, params, d, rounds).predict(d, output_margin=True)

    assert gb.Tukey(warmup=3).init_score(ytr) == gb.Cauchy().init_score(ytr) != gb.Tukey(warmup=0).init_score(ytr)
    np.testing.assert_allclose(margin(gb.Tukey(warmup=3), 3), margin(gb.Cauchy(), 3), rtol=1e-6)
    assert np.max(np.abs(margin(gb.Tukey(warmup=3), 6) - margin(gb.Cauchy(), 6))) > 1e-3


def test_lightgbm_leaf_floor_counts_mean_weight_rows():
    Xtr, ytr, _, _ = _dirty(n=200)
    params = {"verbosity": -1}
    booster = gl.train(gb.Cauchy(), params, lgb.Dataset(Xtr, ytr), 2)
    assert booster.params["min_sum_hessian_in_leaf"] == 1.0
    w = np.full(len(ytr), 0.01)
    booster = gl.train(gb.Cauchy(), params, lgb.Dataset(Xtr, ytr, weight=w), 2)
    assert booster.params["min_sum_hessian_in_leaf"] == pytest.approx(0.01)
    booster = gl.train(gb.Cauchy(), params | {"min_child_weight": 5.0}, lgb.Dataset(Xtr, ytr), 2)
    assert "min_sum_hessian_in_leaf" not in booster.params and booster.params["min_child_weight"] == 5.0
    booster = gl.train(gb.Quantile(0.5), params, lgb.Dataset(Xtr, ytr), 2)  # no floor declared
    assert "min_sum_hessian_in_leaf" not in booster.params


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("name", ["cauchy", "tukey"])
def test_estimator_defaults_survive_gross_errors(backend, name):
    """At the estimator's defaults, 30% of the training targets times 5-20 costs a fraction of
    the clean-training error (on 600 rows; small targets times 5 are not gross errors, and no
    loss can tell them apart), while LightGBM's own l1 breaks down (about 10x)."""
    scores = {}
    for frac in (0.0, 0.3):
        Xtr, ytr, Xte, yte = _dirty(frac=frac)
        est = gb.GBRegressor(name, backend=backend, n_estimators=200, random_state=0).fit(Xtr, ytr)
        scores[frac] = mean_absolute_error(yte, est.predict(Xte))
    Xtr, ytr, Xte, yte = _dirty(frac=0.3)
    l1 = lgb.LGBMRegressor(objective="l1", n_estimators=200, max_depth=6, verbose=-1).fit(Xtr, ytr)
    l1_mae = mean_absolute_error(yte, l1.predict(Xte))
    assert scores[0.3] < 1.6 * scores[0.0]
    assert scores[0.3] < 0.3 * l1_mae
