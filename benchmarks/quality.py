"""Real-data quality study: does each loss earn its place against the baselines a practitioner
would use?

Five studies, each repeated over seeds (a new train / validation / test split, contamination and
booster seed per seed), each with XGBoost (hist) and LightGBM, same trees for every candidate
(depth 6 / LightGBM's 31 leaves capped at depth 6, learning rate 0.1 unless said):

- ``robust``: heavy-tailed real targets (diamonds price, flights arrival delay, Ames house
  price), clean and with 10% / 20% / 30% of the training and validation targets corrupted,
  one-sided (times 5-20) and two-sided (plus or minus 5-20 sd); the natives' squared error,
  absolute error and robust objectives (XGBoost, LightGBM, CatBoost where installed) at their
  defaults and with a tuned scale vs ``GBRegressor`` with Cauchy, Tukey, Welsch and Huber at our
  defaults. 300 rounds. Scored on clean test targets.
- ``intervals``: 0.05 / 0.5 / 0.95 quantiles of diamonds price (heteroscedastic) and flights
  delay; one ``GBQuantileRegressor`` vs one native quantile model per level.
- ``binary``: three real sets with 3-6% positives; logloss, logloss + ``scale_pos_weight``,
  Focal (gamma 0.5 / 1 / 2, alpha off and alpha = 1 - positive rate), class-balanced over
  cross-entropy and focal. Early stopping on a validation split, where the F1 threshold is also
  chosen.
- ``multiclass``: flights carrier (long-tailed) and hpc_data; softmax, softmax with
  ``class_weight="balanced"`` sample weights, Focal, class-balanced CE and focal.
- ``hessian``: every curvature of every loss that has several (``hessian=``), on real data:
  held-out loss after a fixed budget and rounds to get within 1% of the best
  (benchmarks/hessian_choice.py's measurement, run on the real sets here).

Run ``python -m benchmarks.quality`` (all studies; ``--study binary`` for one; ``--smoke`` for
tiny sizes). Writes benchmarks/results/quality_<study>.md. Needs the ``examples`` extra.
"""

import time
import warnings

import numpy as np
from sklearn import metrics
from sklearn.model_selection import train_test_split
from sklearn.utils import compute_sample_weight

import gbobjectives as gb

from . import data, hessian_choice
from ._report import parser_for, save

THREADS = 2
# LightGBM >= 4.6 renamed fit's eval_set (eval_X / eval_y); the old name works on every version
warnings.filterwarnings("ignore", message="The argument 'eval_set' is deprecated")
SCALE_GRID = (0.25, 1.0, 4.0)  # x 1.35 MAD: the tuning grid of every scaled objective


class Config:
    def __init__(self, smoke, seeds):
        self.smoke = smoke
        self.seeds = list(range(1 if smoke else seeds))
        self.n_reg = 900 if smoke else 18000  # train 10k / validation 3k / test 5k
        self.rounds = 10 if smoke else 200
        self.robust_rounds = 10 if smoke else 300
        self.max_rounds = 20 if smoke else 1000  # with early stopping
        self.patience = 5 if smoke else 50
        self.n_carrier = 1500 if smoke else 20000


def mean_sd(values, fmt="{:.3g}"):
    values = np.asarray(values, float)
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std())}"


def summary_table(intro, header, rows, fmts):
    """Markdown lines: ``intro``, then a table whose rows are ``(labels..., vals)``, ``vals`` an
    (n_seeds, len(fmts)) array of scores shown as mean ± sd, one column per entry of ``fmts``."""
    lines = [intro, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for *labels, vals in rows:
        vals = np.asarray(vals, float)
        cells = [mean_sd(vals[:, j], f) for j, f in enumerate(fmts)]
        lines.append("| " + " | ".join(map(str, [*labels, *cells])) + " |")
    return lines


def split3(X, y, seed, stratify=False, sizes=(0.6, 0.2)):
    """Train / validation / test (60 / 20 / 20), stratified for classes."""
    Xtr, Xrest, ytr, yrest = train_test_split(
        X, y, train_size=sizes[0], random_state=seed, stratify=y if stratify else None
    )
    Xva, Xte, yva, yte = train_test_split(
        Xrest, yrest, train_size=sizes[1] / (1 - sizes[0]), random_state=seed, stratify=yrest if stratify else None
    )
    return Xtr, ytr, Xva, yva, Xte, yte


def booster_args(backend, seed, n_estimators, learning_rate=0.1, max_depth=6):
    """The tree settings every candidate of one study shares, in the library's sklearn names."""
    args = {"n_estimators": n_estimators, "learning_rate": learning_rate, "max_depth": max_depth, "n_jobs": THREADS}
    args |= {"random_state": seed}
    if backend == "lightgbm":
        args["verbose"] = -1
    return args


def native(backend, kind, **kwargs):
    """The library's own sklearn estimator (kind: "regressor" / "classifier")."""
    if backend == "xgboost":
        import xgboost

        cls = xgboost.XGBRegressor if kind == "regressor" else xgboost.XGBClassifier
        return cls(tree_method="hist", **kwargs)
    import lightgbm

    cls = lightgbm.LGBMRegressor if kind == "regressor" else lightgbm.LGBMClassifier
    return cls(**kwargs)


def fit_es(est, backend, Xtr, ytr, Xva, yva, patience, w=None, wva=None):
    """Fit with early stopping on (Xva, yva): ours through ``early_stopping_rounds``, the
    natives through their own mechanism (XGBoost: constructor argument; LightGBM: callback)."""
    extra = {} if wva is None else {"sample_weight_eval_set": [wva]}
    if isinstance(est, gb.GBClassifier | gb.GBRegressor):
        est.set_params(early_stopping_rounds=patience)
        return est.fit(Xtr, ytr, sample_weight=w, eval_set=[(Xva, yva)], **extra)
    if backend == "xgboost":
        est.set_params(early_stopping_rounds=patience)
        return est.fit(Xtr, ytr, sample_weight=w, eval_set=[(Xva, yva)], verbose=False, **extra)
    import lightgbm

    kw = {} if wva is None else {"eval_sample_weight": [wva]}
    cb = [lightgbm.early_stopping(patience, verbose=False)]
    return est.fit(Xtr, ytr, sample_weight=w, eval_set=[(Xva, yva)], callbacks=cb, **kw)


# ---- robust regression ---------------------------------------------------------------------------
try:  # the optional "bench" extra: CatBoost's robust objectives are a comparison, never a dependency
    import catboost  # noqa: F401

    HAVE_CATBOOST = True
except ImportError:
    HAVE_CATBOOST = False

# the contamination of training and validation targets: (label, fraction, data.contaminate kind)
CONTAMINATION = [("clean", 0.0, "scale")] + [
    (f"{f:.0%} {side}", f, kind)
    for f in (0.1, 0.2, 0.3)
    for side, kind in (("one-sided", "scale"), ("two-sided", "shift"))
]
OURS = {  # name -> the loss GBRegressor is given (by name: its defaults, as a user would), or
    # a function of the training labels that makes it
    "cauchy": "cauchy",
    "tukey": "tukey",
    "welsch": "welsch",
    "huber": "huber",
    "huber 1.35 MAD of labels": lambda y: gb.Huber().scaled_to(y),
}


def robust_natives(backend, base):
    """The natives' regression objectives: name -> (make(scale or None) -> unfitted estimator,
    library default scale; None: no scale, or none the library sets)."""
    if backend == "catboost":
        from catboost import CatBoostRegressor

        def cat(loss):
            def make(s):
                spec = loss if s is None else f"{loss}:delta={s:.6g}"
                args = {"iterations": base["n_estimators"], "learning_rate": base["learning_rate"], "depth": 6}
                return CatBoostRegressor(
                    loss_function=spec, thread_count=THREADS, random_seed=base["random_state"], verbose=0, **args
                )

            return make

        # CatBoost's Huber has no default delta: it is only run tuned
        return {"MAE": (cat("MAE"), None), "Huber": (cat("Huber"), "none"), "LogCosh": (cat("LogCosh"), None)}
    if backend == "xgboost":
        return {
            "squared error": (lambda s: native(backend, "regressor", **base), None),
            "reg:absoluteerror": (lambda s: native(backend, "regressor", objective="reg:absoluteerror", **base), None),
            "reg:pseudohubererror": (
                lambda s: native(backend, "regressor", objective="reg:pseudohubererror", huber_slope=s, **base),
                1.0,
            ),
        }
    return {
        "squared error": (lambda s: native(backend, "regressor", **base), None),
        "l1": (lambda s: native(backend, "regressor", objective="l1", **base), None),
        "huber": (lambda s: native(backend, "regressor", objective="huber", alpha=s, **base), 0.9),
        "fair": (lambda s: native(backend, "regressor", objective="fair", fair_c=s, **base), 1.0),
    }


def regression_scores(y, pred):
    err = np.abs(y - pred)
    return err.mean(), np.sqrt(np.mean(err**2)), np.median(err)


def fit_score(est, split, record):
    """Fit on the training part, append the test scores to ``record``, return the validation MAE."""
    Xtr, ytr, Xva, yva, Xte, yte = split
    est.fit(Xtr, ytr)
    record.append(regression_scores(yte, est.predict(Xte)))
    return np.mean(np.abs(yva - est.predict(Xva)))


def robust_sets(cfg):
    if cfg.smoke:
        return {"diamonds price": data.diamonds_price}
    return {
        "diamonds price": data.diamonds_price,
        "flights arr_delay": data.flights_delay,
        "ames price": data.ames_price,
    }


def robust_seed(res, X, y, frac, kind, seed, cfg):
    """One split and contamination: every candidate's test scores appended to ``res`` under
    (backend, objective, setting)."""
    Xtr, ytr, Xva, yva, Xte, yte = split3(X, y, seed, sizes=(10 / 18, 3 / 18))
    ytr, yva = data.contaminate(ytr, frac, seed, kind), data.contaminate(yva, frac, seed + 1000, kind)
    split = (Xtr, ytr, Xva, yva, Xte, yte)
    s0 = gb.Huber().scaled_to(ytr).delta  # 1.35 x MAD of the (dirty) training labels
    backends = ["xgboost", "lightgbm"] + (["catboost"] if HAVE_CATBOOST else [])
    for backend in backends:
        base = booster_args("xgboost" if backend == "catboost" else backend, seed, cfg.robust_rounds)
        for name, (make, default) in robust_natives(backend, base).items():
            if default is None:
                fit_score(make(None), split, res.setdefault((backend, name, "default"), []))
                continue
            if default != "none":
                fit_score(make(default), split, res.setdefault((backend, name, f"default ({default:g})"), []))
            tuned = [(fit_score(make(m * s0), split, scores := []), scores[0]) for m in SCALE_GRID]
            res.setdefault((backend, name, "tuned on validation"), []).append(min(tuned, key=lambda t: t[0])[1])
        if backend == "catboost":
            continue
        for name, loss in OURS.items():
            est = gb.GBRegressor(loss(ytr) if callable(loss) else loss, backend=backend, **base)
            fit_score(est, split, res.setdefault((backend, f"{name} (ours)", "default"), []))


def robust_summary(results):
    """Per data set and contamination: the best native's mean MAE and each of ours as a ratio
    to it; then the geometric means of the ratios over the contaminated cases."""
    ours = [(b, f"{n} (ours)") for n in OURS for b in ("xgboost", "lightgbm")]
    header = ["data", "contamination", "best native (MAE)"] + [f"{n.removesuffix(' (ours)')} {b[:3]}" for b, n in ours]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ratios = {}
    for (set_name, cond), res in results.items():
        mae = {key: float(np.mean(np.asarray(v)[:, 0])) for key, v in res.items()}
        natives = {key: m for key, m in mae.items() if not key[1].endswith("(ours)")}
        best = min(natives, key=natives.get)
        cells = [set_name, cond, f"{best[0]} {best[1]}, {best[2]} ({natives[best]:.4g})"]
        for key in ours:
            r = mae[(key[0], key[1], "default")] / natives[best]
            ratios.setdefault((cond.split("%")[0], key), []).append(r)
            cells.append(f"{r:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Geometric mean of the ratios (all data sets, one- and two-sided; max in brackets):")
    lines.append("")
    lines.append("| contamination | " + " | ".join(header[3:]) + " |")
    lines.append("|" + "---|" * (len(header) - 2))
    for level in ("clean", "10", "20", "30"):
        cells = []
        for key in ours:
            r = ratios.get((level, key))
            cells.append("-" if not r else f"{np.exp(np.mean(np.log(r))):.2f} ({max(r):.2f})")
        lines.append(f"| {level if level == 'clean' else level + '%'} | " + " | ".join(cells) + " |")
    return lines


def robust(cfg):
    results = {}
    for set_name, load in robust_sets(cfg).items():
        X, y, _ = load(n=cfg.n_reg, seed=0)
        conds = [CONTAMINATION[0], CONTAMINATION[3]] if cfg.smoke else CONTAMINATION
        for cond, frac, kind in conds:
            res = results[(set_name, cond)] = {}
            for seed in cfg.seeds:
                robust_seed(res, X, y, frac, kind, seed, cfg)
            print(set_name, cond, "done", flush=True)
    intro = (
        f"Clean-test MAE, mean over {len(cfg.seeds)} seeds (a new split, contamination and booster "
        f"seed each); up to {cfg.n_reg} rows split 10/3/5 (train / validation / test). A fraction of the "
        "training and validation targets is corrupted: one-sided, the value times U(5, 20) (unit mix-ups, "
        "data-entry errors); two-sided, the value plus or minus U(5, 20) standard deviations. "
        f"{cfg.robust_rounds} rounds, depth 6, learning rate 0.1 for every candidate (CatBoost: "
        "iterations, depth and learning rate the same). Ours: `GBRegressor(name)` with the loss's "
        "defaults: an adaptive scale, c x 1.4826 x MAD of the current residuals every round (c: 2.385 "
        "Cauchy, 4.685 Tukey, 2.985 Welsch, 1.345 Huber); Tukey and Welsch warmed up on Cauchy for half "
        "the rounds; on LightGBM a leaf floor of one row of curvature. huber 1.35 MAD of labels: "
        "`Huber().scaled_to(y_train)`, a fixed delta. "
        "Natives at their defaults and tuned: the best of 0.25 / 1 / 4 x 1.35 MAD of the training labels "
        "as their scale (huber_slope, alpha, fair_c, CatBoost's delta) by validation MAE (validation "
        "targets are dirty too, as a practitioner's would be). Best native: the lowest mean MAE of every "
        "native objective, default or tuned, over XGBoost, LightGBM" + (" and CatBoost" if HAVE_CATBOOST else "") + "."
    )
    lines = [intro, "", "## Ours / best native (test MAE ratio; below 1: ours is better)", ""]
    lines += robust_summary(results)
    lines += ["", "## Every candidate", ""]
    rows = []
    for (set_name, cond), res in results.items():
        for (backend, name, setting), vals in res.items():
            rows.append((set_name, cond, backend, name, setting, vals))
    header = ["data", "contamination", "backend", "objective", "scale", "MAE", "RMSE", "median AE"]
    lines += summary_table("Mean ± sd over seeds.", header, rows, ["{:.4g}"] * 3)
    return "Robust regression", lines


# ---- prediction intervals ------------------------------------------------------------------------
LEVELS = (0.05, 0.5, 0.95)


def interval_scores(y, q, seconds, interval=None):
    """q: (n, 3) predictions for LEVELS, as the model returns them (unsorted); ``interval``:
    (n, 2) bounds of the 90% interval when they are not q's outer levels (conformalized)."""
    cover = [np.mean(y <= q[:, j]) for j in range(3)]
    lo, hi = (q[:, 0], q[:, 2]) if interval is None else (interval[:, 0], interval[:, 1])
    inside = np.mean((y >= lo) & (y <= hi))
    pinball = np.mean([metrics.mean_pinball_loss(y, q[:, j], alpha=a) for j, a in enumerate(LEVELS)])
    crossing = np.mean(np.any(np.diff(q, axis=1) < 0, axis=1))
    width = np.mean(hi - lo)
    return [*cover, inside, pinball, width, crossing, seconds]


try:  # the optional "bench" extra: MAPIE's CQR is a comparison, never a dependency
    import mapie  # noqa: F401

    HAVE_MAPIE = True
except ImportError:
    HAVE_MAPIE = False


def native_quantile(backend, a, base):
    if backend == "xgboost":
        return native(backend, "regressor", objective="reg:quantileerror", quantile_alpha=a, **base)
    return native(backend, "regressor", objective="quantile", alpha=a, **base)


def mapie_cqr(backend, base, Xtr, ytr, seed):
    """MAPIE's split CQR around three native quantile models (lower, upper, median), trained
    on 75% of the training rows and conformalized on the other 25% (the split ours uses)."""
    from mapie.regression import ConformalizedQuantileRegressor

    idx = np.random.default_rng(seed).permutation(len(ytr))
    cal, fit = idx[: len(idx) // 4], idx[len(idx) // 4 :]
    models = [native_quantile(backend, a, base).fit(Xtr[fit], ytr[fit]) for a in (LEVELS[0], LEVELS[2], 0.5)]
    return ConformalizedQuantileRegressor(models, confidence_level=0.9, prefit=True).conformalize(Xtr[cal], ytr[cal])


def intervals(cfg):
    sets = {"diamonds price": data.diamonds_price, "flights arr_delay": data.flights_delay}
    if cfg.smoke:
        sets = {"diamonds price": data.diamonds_price}
    rounds = cfg.rounds * (1 if cfg.smoke else 2)
    rows = []
    for set_name, load in sets.items():
        X, y, _ = load(n=cfg.n_reg, seed=0)
        for backend in ("xgboost", "lightgbm"):
            res = {}
            for seed in cfg.seeds:
                Xtr, ytr, _, _, Xte, yte = split3(X, y, seed, sizes=(10 / 18, 3 / 18))
                base = booster_args(backend, seed, rounds)
                t0 = time.perf_counter()
                ours = gb.GBQuantileRegressor(alpha=LEVELS, backend=backend, **base).fit(Xtr, ytr)
                t_ours = time.perf_counter() - t0
                for label, q in (
                    ("GBQuantileRegressor, raw (before sorting)", ours.predict(Xte, sort=False)),
                    ("GBQuantileRegressor (sorted, as predict returns)", ours.predict(Xte)),
                ):
                    res.setdefault(label, []).append(interval_scores(yte, q, t_ours))
                for mode, label in (("split", "split, 25% calibration"), ("cv", "cv, 5 folds")):
                    t0 = time.perf_counter()
                    conf = gb.GBQuantileRegressor(alpha=LEVELS, backend=backend, conformal=mode, **base).fit(Xtr, ytr)
                    seconds = time.perf_counter() - t0
                    q, interval = conf.predict(Xte), conf.predict_interval(Xte)
                    res.setdefault(f"GBQuantileRegressor conformal ({label})", []).append(
                        interval_scores(yte, q, seconds, interval)
                    )
                t0 = time.perf_counter()
                cols = [native_quantile(backend, a, base).fit(Xtr, ytr).predict(Xte) for a in LEVELS]
                label = "reg:quantileerror x3" if backend == "xgboost" else "lightgbm quantile x3"
                res.setdefault(label, []).append(interval_scores(yte, np.column_stack(cols), time.perf_counter() - t0))
                if not HAVE_MAPIE:
                    continue
                t0 = time.perf_counter()
                mapie = mapie_cqr(backend, base, Xtr, ytr, seed)
                seconds = time.perf_counter() - t0
                median, bounds = mapie.predict_interval(Xte)
                cols = np.column_stack([bounds[:, 0, 0], median, bounds[:, 1, 0]])
                res.setdefault(f"MAPIE split CQR ({label})", []).append(interval_scores(yte, cols, seconds))
            for label, vals in res.items():
                rows.append((set_name, backend, label, vals))
            print(set_name, backend, "done", flush=True)
    intro = (
        f"Test-set coverage of each level (fraction of y below the predicted quantile), coverage of "
        f"the 0.05-0.95 interval (target 0.90), mean pinball loss over the 3 levels, mean width "
        f"of the 90% interval, fraction of rows whose levels cross, training seconds (2 threads; one "
        f"model for ours, three for the natives). Conformal rows: the 90% interval is predict_interval "
        f"(conformalized), the level columns are predict (the model's own quantiles); 'split' trains on "
        f"75% of the training rows, 'cv' refits on all of them after 5 out-of-fold trainings. MAPIE: its "
        f"ConformalizedQuantileRegressor (split CQR) around three native quantile models trained on 75% "
        f"of the training rows and conformalized on the other 25%; its level columns are the conformalized "
        f"bounds and the native median. Mean ± sd over {len(cfg.seeds)} seeds; {cfg.n_reg} rows split "
        f"10/3/5, the validation part unused; {rounds} rounds, depth 6, learning rate 0.1."
    )
    header = ["data", "backend", "model", "cov 0.05", "cov 0.5", "cov 0.95", "90% interval", "pinball", "width"]
    header += ["crossing", "train s"]
    fmts = ["{:.3f}"] * 4 + ["{:.4g}", "{:.4g}", "{:.3f}", "{:.2f}"]
    lines = summary_table(intro, header, rows, fmts)
    return "Prediction intervals", lines


# ---- imbalanced binary ---------------------------------------------------------------------------
def binary_candidates(backend, base, prior):
    """name -> unfitted estimator (natives and ours, the same tree settings ``base``)."""
    cands = {
        "logloss": native(backend, "classifier", **base),
        "logloss + scale_pos_weight": native(backend, "classifier", scale_pos_weight=(1 - prior) / prior, **base),
    }
    ours = {}
    for gamma in (0.5, 1.0, 2.0):
        ours[f"Focal(gamma={gamma:g})"] = gb.Focal(gamma)
        ours[f"Focal(gamma={gamma:g}, alpha=1-prior)"] = gb.Focal(gamma, alpha=1 - prior)
    ours["ClassBalanced(CE, beta=0.999)"] = gb.ClassBalanced(gb.CrossEntropy(), 0.999)
    ours["ClassBalanced(CE, beta=0.9999)"] = gb.ClassBalanced(gb.CrossEntropy(), 0.9999)
    ours["ClassBalanced(Focal(2), beta=0.999)"] = gb.ClassBalanced(gb.Focal(2.0), 0.999)
    for name, loss in ours.items():
        cands[name] = gb.GBClassifier(loss, backend=backend, **base)
    return cands


def ece(y, p, bins=10):
    """Expected calibration error over equal-mass bins of the predicted probability of class 1:
    the row-weighted mean |mean p - positive rate| of each bin."""
    order = np.argsort(p, kind="stable")
    return sum(len(b) * abs(p[b].mean() - y[b].mean()) for b in np.array_split(order, bins)) / len(p)


def multiclass_ece(y, proba, bins=10):
    """Top-label ECE: equal-mass bins of the largest probability, |confidence - accuracy|."""
    conf = proba.max(axis=1)
    return ece((np.argmax(proba, axis=1) == y).astype(float), conf, bins)


def binary_scores(yva, pva, yte, pte):
    prec, rec, thr = metrics.precision_recall_curve(yva, pva)
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    threshold = thr[np.argmax(f1[:-1])]
    return [
        metrics.average_precision_score(yte, pte),
        metrics.roc_auc_score(yte, pte),
        metrics.log_loss(yte, np.clip(pte, 1e-15, 1 - 1e-15)),
        metrics.brier_score_loss(yte, pte),
        ece(yte, pte),
        metrics.f1_score(yte, pte >= threshold),
        pte.mean() / yte.mean(),
    ]


def link_proba(est, X):
    """The link's output (sigmoid / softmax of the margins) of one of our estimators: what a
    booster's own predict_proba would give for the same model, before the posterior."""
    p = est.loss_.inverse_link(est.decision_function(X))
    return np.column_stack([1 - p, p]) if p.ndim == 1 else p


def binary(cfg):
    sets = {"Caravan (6.0%)": data.caravan, "Default (3.3%)": data.default, "lending_club (5.2%)": data.lending_club}
    if cfg.smoke:
        sets = {"Default (3.3%)": data.default}
    rows = []
    for set_name, load in sets.items():
        X, y, _ = load()
        if cfg.smoke:
            X, y = X[:2000], y[:2000]
        for backend in ("xgboost", "lightgbm"):
            res = {}
            for seed in cfg.seeds:
                Xtr, ytr, Xva, yva, Xte, yte = split3(X, y, seed, stratify=True)
                base = booster_args(backend, seed, cfg.max_rounds, learning_rate=0.05, max_depth=4)
                for name, est in binary_candidates(backend, base, ytr.mean()).items():
                    fit_es(est, backend, Xtr, ytr, Xva, yva, cfg.patience)
                    pva, pte = est.predict_proba(Xva)[:, 1], est.predict_proba(Xte)[:, 1]
                    ours = isinstance(est, gb.GBClassifier)
                    res.setdefault(name + (" posterior" if ours else ""), []).append(binary_scores(yva, pva, yte, pte))
                    if ours:
                        lva, lte = link_proba(est, Xva)[:, 1], link_proba(est, Xte)[:, 1]
                        res.setdefault(name + " link", []).append(binary_scores(yva, lva, yte, lte))
            for name, vals in res.items():
                rows.append((set_name, backend, name, vals))
            print(set_name, backend, "done", flush=True)
    intro = (
        f"Test metrics, mean ± sd over {len(cfg.seeds)} stratified 60/20/20 splits; depth 4, learning "
        f"rate 0.05, early stopping (patience {cfg.patience}, at most {cfg.max_rounds} rounds) on the "
        "validation split with each objective's own loss; F1 at the threshold that maximises F1 on the "
        "validation split. 'mean p / rate': mean predicted probability over the positive rate (1 = "
        "calibrated in the large); ECE over 10 equal-mass bins. Ours: 'posterior' is what "
        "predict_proba returns (loss.posterior of the margins), 'link' the sigmoid of the same "
        "margins (what the booster's own predict_proba would give)."
    )
    header = ["data", "backend", "objective", "PR-AUC", "ROC-AUC", "log loss", "Brier", "ECE", "F1", "mean p / rate"]
    fmts = ["{:.3f}", "{:.3f}", "{:.4f}", "{:.4f}", "{:.4f}", "{:.3f}", "{:.2f}"]
    lines = summary_table(intro, header, rows, fmts)
    return "Imbalanced binary classification", lines


# ---- long-tailed multiclass ----------------------------------------------------------------------
def multiclass_scores(y, pred, proba, k, rare):
    """Decisions (``pred``, the estimator's predict) and probabilities (``proba``) scored."""
    recall = metrics.recall_score(y, pred, labels=np.arange(k), average=None, zero_division=0)
    onehot = np.eye(k)[y]
    rate = np.bincount(y, minlength=k)[rare] / len(y)
    return [
        metrics.f1_score(y, pred, average="macro"),
        metrics.balanced_accuracy_score(y, pred),
        recall[rare].mean(),
        metrics.log_loss(y, np.clip(proba, 1e-15, 1), labels=np.arange(k)),
        np.mean(np.sum((proba - onehot) ** 2, axis=1)),
        multiclass_ece(y, proba),
        np.mean(proba[:, rare].mean(axis=0) / rate),
    ]


def carrier(cfg):
    """flights carrier, subsampled (seeded); classes with fewer than 30 rows in the sample are
    dropped (a 60/20/20 stratified split needs a few of each), the rest relabelled 0..k-1."""
    X, y, _ = data.flights_carrier(n=cfg.n_carrier, seed=0)
    classes, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, classes[counts >= 30])
    return X[keep], np.unique(y[keep], return_inverse=True)[1]


def multiclass(cfg):
    sets = {"flights carrier": lambda: carrier(cfg), "hpc_data": lambda: data.hpc()[:2]}
    if cfg.smoke:
        sets = {"hpc_data": sets["hpc_data"]}
    rows = []
    for set_name, load in sets.items():
        X, y = load()
        y = y.astype(int)
        k = int(y.max()) + 1
        share = np.bincount(y, minlength=k) / len(y)
        rare = np.argsort(share)[:3]
        for backend in ("xgboost", "lightgbm"):
            res = {}
            for seed in cfg.seeds:
                Xtr, ytr, Xva, yva, Xte, yte = split3(X, y, seed, stratify=True)
                base = booster_args(backend, seed, cfg.max_rounds // 3)
                cands = {
                    "softmax": (native(backend, "classifier", **base), False),
                    'softmax + class_weight="balanced"': (native(backend, "classifier", **base), True),
                    "Focal(gamma=2)": (gb.GBClassifier(gb.Focal(2.0), backend=backend, **base), False),
                    "ClassBalanced(CE, beta=0.999)": (
                        gb.GBClassifier("class_balanced", backend=backend, **base),
                        False,
                    ),
                    "ClassBalanced(Focal(2), beta=0.999)": (
                        gb.GBClassifier(gb.ClassBalanced(gb.Focal(2.0)), backend=backend, **base),
                        False,
                    ),
                }
                for name, (est, balanced) in cands.items():
                    w = compute_sample_weight("balanced", ytr) if balanced else None
                    wva = compute_sample_weight("balanced", yva) if balanced else None
                    fit_es(est, backend, Xtr, ytr, Xva, yva, cfg.patience // 2, w, wva)
                    pred = est.predict(Xte)
                    ours = isinstance(est, gb.GBClassifier)
                    outputs = {" posterior" if ours else "": est.predict_proba(Xte)}
                    if ours:
                        outputs[" link"] = link_proba(est, Xte)
                    for suffix, proba in outputs.items():
                        res.setdefault(name + suffix, []).append(multiclass_scores(yte, pred, proba, k, rare))
            for name, vals in res.items():
                rows.append((set_name, k, f"{', '.join(f'{100 * share[c]:.1f}%' for c in rare)}", backend, name, vals))
            print(set_name, backend, "done", flush=True)
    intro = (
        f"Test metrics, mean ± sd over {len(cfg.seeds)} stratified 60/20/20 splits; depth 6, learning rate "
        f"0.1, early stopping (patience {cfg.patience // 2}, at most {cfg.max_rounds // 3} rounds) on the "
        "validation split with each objective's own loss (the balanced softmax on balanced validation "
        "weights). 'rare-3 recall': mean recall of the three rarest classes (their shares in the data "
        f"given). flights carrier: {cfg.n_carrier} sampled rows, classes with < 30 rows dropped. Brier: "
        "mean over rows of the squared error summed over classes; ECE: top-label, 10 equal-mass bins; "
        "'rare-3 mean p / rate': mean predicted probability of each of the three rarest classes over its "
        "test share, averaged (1 = calibrated in the large). Ours: 'posterior' is predict_proba, 'link' "
        "the softmax of the same margins (decisions are the same for both)."
    )
    header = ["data", "classes", "rarest shares", "backend", "objective", "macro-F1", "balanced acc."]
    header += ["rare-3 recall", "log loss", "Brier", "ECE", "rare-3 mean p / rate"]
    lines = summary_table(intro, header, rows, ["{:.3f}"] * 3 + ["{:.4f}"] * 3 + ["{:.2f}"])
    return "Long-tailed multiclass classification", lines


# ---- curvature (hessian=) strategies -------------------------------------------------------------
def hessian(cfg):
    n = 600 if cfg.smoke else 10000
    sets = {
        "reg": [("flights arr_delay", *data.flights_delay(n=n, seed=0)[:2])],
        "binary": [("lending_club", *data.lending_club()[:2])],
        "multi": [("hpc_data", *data.hpc()[:2])],
    }
    if not cfg.smoke:
        sets["reg"].append(("diamonds price", *data.diamonds_price(n=n, seed=0)[:2]))
    rounds = 20 if cfg.smoke else 300
    lines = hessian_choice.study(sets, len(cfg.seeds), rounds)
    return "Curvature strategies (hessian=) on real data", lines


STUDIES = {"robust": robust, "intervals": intervals, "binary": binary, "multiclass": multiclass, "hessian": hessian}


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes, one seed (CI)")
    parser.add_argument("--study", nargs="*", choices=sorted(STUDIES), default=list(STUDIES))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    cfg = Config(args.smoke, args.seeds)
    for name in args.study:
        t0 = time.perf_counter()
        title, lines = STUDIES[name](cfg)
        command = f"python -m benchmarks.quality --study {name} --seeds {args.seeds}" + (
            " --smoke" if args.smoke else ""
        )
        command += f" --tag {args.tag}" if args.tag else ""
        lines.append(f"\n({time.perf_counter() - t0:.0f} s on 2 threads; command: `{command}`)")
        text = "\n".join(lines) + "\n"
        print(text, flush=True)
        save(f"quality_{name}", args.smoke, title, text, tag=args.tag)


if __name__ == "__main__":
    main()
