"""Every invalid input gets a ValueError naming the parameter or the offending rows."""

import numpy as np
import pytest

import gbobjectives as gb
import gbobjectives.lightgbm
import gbobjectives.xgboost


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: gb.Huber(0.0), "delta"),
        (lambda: gb.Huber(-1.0), "delta"),
        (lambda: gb.PseudoHuber(float("nan")), "delta"),
        (lambda: gb.LogCosh(scale=0), "scale"),
        (lambda: gb.Quantile(0.0), "alpha"),
        (lambda: gb.Quantile(1.0), "alpha"),
        (lambda: gb.Quantile([0.1, 1.5]), "alpha"),
        (lambda: gb.Quantile([]), "alpha"),
        (lambda: gb.Focal(gamma=-0.1), "gamma"),
        (lambda: gb.Focal(alpha=1.0), "alpha"),
        (lambda: gb.Focal(alpha=[1.0, -1.0]), "alpha"),
        (lambda: gb.ClassBalanced(beta=1.0), "beta"),
        (lambda: gb.ClassBalanced(beta=-0.1), "beta"),
        (lambda: gb.ClassBalanced(gb.Huber()), "base"),
        (lambda: gb.ClassBalanced(counts=[3, -1]), "counts"),
        (lambda: gb.ClassBalanced(counts=[3, np.inf]), "counts"),
        (lambda: gb.Huber(hessian="bogus"), "hessian"),
        (lambda: gb.Quantile(0.5, hessian="floored"), "hessian"),
        (lambda: gb.get_loss("nope"), "unknown loss"),
        (lambda: gb.Huber(True), "delta"),
    ],
)
def test_bad_parameters(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


Y = np.array([0.0, 1.0, 0.0, 1.0])
RAW = np.zeros(4)


@pytest.mark.parametrize(
    ("loss", "y", "raw", "w", "match"),
    [
        (gb.CrossEntropy(), [0.0, 2.0, 0.0, 1.0], RAW, None, r"\{0, 1\}.*row 1"),
        (gb.Focal(2.0), [0.0, 0.5, 0.0, 1.0], RAW, None, r"row 1"),
        (gb.Focal(2.0), [0.0, 1.0, 3.0, 1.0], np.zeros((4, 3)), None, r"0\.\.2.*row 2"),
        (gb.Focal(2.0), [0.0, -1.0, 1.0, 1.0], np.zeros((4, 3)), None, r"row 1"),
        (gb.Huber(), [0.0, np.nan, 0.0, np.inf], RAW, None, r"NaN or inf at rows 1, 3"),
        (gb.CrossEntropy(), [0.0, np.nan, 0.0, 1.0], RAW, None, r"NaN or inf at row 1"),
        (gb.Huber(), Y, RAW, [1.0, 1.0, np.nan, 1.0], r"sample_weight is NaN or inf at row 2"),
        (gb.Huber(), Y, RAW, [1.0, -1.0, 1.0, 1.0], r"sample_weight is negative at row 1"),
        (gb.Huber(), Y, RAW, [1.0, 1.0], r"sample_weight has shape"),
        (gb.Huber(), Y[:3], RAW, None, r"labels y have shape"),
        (gb.Huber(), np.zeros((4, 2)), np.zeros((4, 3)), None, r"2 columns"),
        (gb.Quantile([0.1, 0.9]), Y, RAW, None, r"2 level"),
        (gb.Quantile([0.1, 0.9]), Y, np.zeros((4, 3)), None, r"2 level"),
        (gb.Huber(), Y, np.zeros(4, np.int64), None, r"float32 or float64"),
        (gb.Huber(), Y, np.zeros((4, 2, 2)), None, r"shape"),
        (gb.Huber(), np.array(["a", "b", "c", "d"]), RAW, None, r"numeric"),
        (gb.Focal(alpha=0.25), [0, 1, 2, 0], np.zeros((4, 3)), None, r"one alpha per class"),
        (gb.Focal(alpha=[1, 2]), [0, 1, 2, 0], np.zeros((4, 3)), None, r"alpha has 2 entries"),
        (gb.ClassBalanced(counts=[5, 5]), [0, 1, 2, 0], np.zeros((4, 3)), None, r"counts has 2 classes"),
    ],
)
def test_bad_inputs(loss, y, raw, w, match):
    for call in (loss.grad_hess, loss.value):
        with pytest.raises(ValueError, match=match):
            call(np.asarray(y), raw, w)


def test_bad_init_inputs():
    with pytest.raises(ValueError, match="sums to 0"):
        gb.Huber().init_score(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        gb.Quantile(0.5).init_score(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="n_classes"):
        gb.Focal().init_score(np.zeros(3), n_classes=1)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        gb.Focal().init_score(np.array([0, 3]), n_classes=3)


def test_nothing_silently_coerced():
    loss = gb.Huber()
    y = np.arange(4.0)
    raw = np.zeros(4)
    with pytest.raises(ValueError, match="numeric"):
        loss.grad_hess(y, raw, np.array([True, False, True, True]))
    # bool labels are exact 0/1 and accepted for classification
    g_bool, _ = gb.CrossEntropy().grad_hess(np.array([False, True, False, True]), raw)
    g_float, _ = gb.CrossEntropy().grad_hess(Y, raw)
    np.testing.assert_array_equal(g_bool, g_float)


# ---- checks remembered for the adapters' own labels and weights ----------------------------
# The adapters read a DMatrix's / Dataset's labels and weights once and pass the same arrays
# every round; the losses scan their values on the first round only. Everyone else's arrays
# are scanned on every call.


def _count_scans(monkeypatch):
    from gbobjectives.losses import _validation as v

    counts = {"labels": 0, "classes": 0, "weights": 0}
    for name, key in (("_finite_labels", "labels"), ("_class_ids", "classes"), ("_finite_non_negative", "weights")):
        real = getattr(v, name)

        def counted(*args, real=real, key=key):
            counts[key] += 1
            return real(*args)

        monkeypatch.setattr(v, name, counted)
    return counts


@pytest.mark.parametrize("loss", [gb.Huber(1.0), gb.CrossEntropy()])
def test_a_callers_arrays_are_scanned_on_every_call(loss):
    y, w = Y.copy(), np.ones(4)
    loss.grad_hess(y, RAW, w)
    y[1], w[2] = np.nan, -1.0  # the caller's arrays may change between calls
    with pytest.raises(ValueError, match="row 1"):
        loss.grad_hess(y, RAW, w)
    y[1] = 1.0
    with pytest.raises(ValueError, match="negative at row 2"):
        loss.grad_hess(y, RAW, w)


def test_remembered_arrays_are_scanned_once_per_kind_of_check(monkeypatch):
    from gbobjectives.losses._validation import remember_checks

    counts = _count_scans(monkeypatch)
    y, w = Y.copy(), np.ones(4)
    remember_checks(y, w)
    for _ in range(3):
        gb.CrossEntropy().grad_hess(y, RAW, w)
    assert counts == {"labels": 1, "classes": 1, "weights": 1}
    gb.Focal(alpha=[1.0, 1.0, 1.0]).grad_hess(y, np.zeros((4, 3)), w)  # 3 classes: a new check
    assert counts == {"labels": 1, "classes": 2, "weights": 1}
    gb.Huber().grad_hess(y.copy(), RAW, w.copy())  # copies: not remembered
    assert counts == {"labels": 2, "classes": 2, "weights": 2}


def test_a_failed_check_is_not_remembered():
    from gbobjectives.losses._validation import remember_checks

    y = np.array([0.0, 2.0, 0.0, 1.0])
    remember_checks(y)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"\{0, 1\}.*row 1"):
            gb.CrossEntropy().grad_hess(y, RAW)


@pytest.mark.parametrize("lib", ["xgboost", "lightgbm"])
def test_adapters_scan_labels_and_weights_on_the_first_round_only(monkeypatch, lib):
    counts = _count_scans(monkeypatch)
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(200, 3)), (rng.random(200) < 0.3).astype(float), rng.random(200)
    if lib == "xgboost":
        import xgboost

        gb.xgboost.train(gb.CrossEntropy(), {"max_depth": 2}, xgboost.DMatrix(X, y, weight=w), 5)
    else:
        import lightgbm

        gb.lightgbm.train(gb.CrossEntropy(), {"verbosity": -1}, lightgbm.Dataset(X, y, weight=w), 5)
    # train() scans once for the start, the objective once in its first round (not in all 5)
    assert counts == {"labels": 2, "classes": 2, "weights": 2}


@pytest.mark.parametrize("lib", ["xgboost", "lightgbm"])
def test_adapters_still_reject_bad_labels_on_the_first_round(lib):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), (rng.random(50) < 0.3).astype(float)
    y[7] = 2.0
    if lib == "xgboost":
        import xgboost

        data, obj = xgboost.DMatrix(X, y), gb.xgboost.objective(gb.CrossEntropy())
        with pytest.raises(ValueError, match="row 7"):
            xgboost.train({"max_depth": 2}, data, 2, obj=obj)
    else:
        import lightgbm

        data = lightgbm.Dataset(X, y)
        params = {"objective": gb.lightgbm.objective(gb.CrossEntropy()), "verbosity": -1}
        with pytest.raises(ValueError, match="row 7"):
            lightgbm.train(params, data, 2)


# ---- scans in blocks of rows: bounded temporaries, whole-array row numbers ------------------
def _past_first_block():
    from gbobjectives.losses import _validation as v

    return v._SCAN_ROWS + 7  # a bad row in the second block


@pytest.mark.parametrize("what", ["nan label", "class label", "negative weight"])
def test_a_bad_row_in_a_later_block_is_named(what):
    n, bad = 2 * (_past_first_block()), _past_first_block()
    y, w, raw = np.zeros(n), np.ones(n), np.zeros(n)
    loss, match = gb.Huber(), f"row {bad}$"
    if what == "nan label":
        y[bad] = np.nan
    elif what == "class label":
        y[bad], loss, match = 3.0, gb.CrossEntropy(), rf"\{{0, 1\}}; bad values at row {bad}$"
    else:
        w[bad], match = -1.0, f"negative at row {bad}$"
    with pytest.raises(ValueError, match=match):
        loss.grad_hess(y, raw, w)


@pytest.mark.parametrize("loss", [gb.Huber(1.0), gb.CrossEntropy(), gb.Focal(2.0, alpha=[1.0, 2.0, 3.0])])
def test_a_call_allocates_no_more_than_its_outputs(loss):
    """tracemalloc sees NumPy's buffers (the Numba loops allocate none): a call's peak is its
    outputs, the label and weight scans' temporaries stay within a block of rows, and with
    ``out=`` (the adapters' rounds) only those remain."""
    import tracemalloc

    n = 16 * _past_first_block()  # about 1M rows: unblocked scans would take megabytes
    rng = np.random.default_rng(0)
    k = 3 if isinstance(loss, gb.Focal) else 1
    y = rng.integers(0, max(k, 2), n).astype(np.float64)
    raw = rng.normal(size=(n, k) if k > 1 else n)
    w = rng.uniform(0.5, 2.0, n)
    out = loss.grad_hess(y, raw, w)  # warm: compiled, and the outputs for out=

    def peak(**kw):
        tracemalloc.start()
        try:
            loss.grad_hess(y, raw, w, **kw)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    outputs = 2 * raw.nbytes
    assert peak() <= outputs + 2**20
    assert peak(out=out) <= 2**20 < raw.nbytes / 2  # the scans' blocks, not n rows of masks
