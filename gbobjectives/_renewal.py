"""Leaf renewal, which both adapters run beside a booster for a loss with ``renews_leaves``
(``Loss.leaf_value``: after each iteration every leaf of its new trees is set to the loss's
optimal step over the residuals of its training rows, as the natives' quantile objectives do).

Layer 5 (adapters; see ``gbobjectives/__init__.py``): imports losses and, for the bookkeeping of
LightGBM's renewal (rows to leaves, corrections), the CPU loops. ``LeafRenewal`` owns what both
boosters share: the plan's loss, labels and weights, the iterations renewed, the renewed trees
and the state of each data set the booster scores (``DataState``); ``xgboost.LeafRenewal`` and
``lightgbm.LeafRenewal`` add what differs: how a new tree's leaves are read and its values
written back.
"""

import dataclasses
from typing import Any

import numpy as np

from .kernels import cpu


@dataclasses.dataclass
class DataState:
    """One data set (DMatrix / Dataset) under leaf renewal: ``base`` and ``offset``, (n, k)
    float64, whose meaning each booster's renewal gives (XGBoost: the margins before the
    training's trees and the renewed values of each row's leaves; LightGBM: the cached scores
    last seen and the renewed minus the original values), and the iterations accounted."""

    data: Any
    base: np.ndarray
    offset: np.ndarray
    iterations: int


class LeafRenewal:
    """What both boosters' leaf renewal share. ``plan``: the training's ``TrainingPlan`` (its
    bound loss, labels ``y`` as (n, k) and weights ``w``, the k outputs, the training data).
    ``done``: iterations renewed; ``first``: the first iteration trained here (after a
    continued model's); ``trees``: per renewed tree, what the booster's subclass keeps.

    A subclass implements ``_iterations(booster)`` (the booster's iteration count),
    ``_new_state(data, cached)`` and ``_renew(state)`` (renew the newest iteration's trees from
    the training set's ``state``, bring it up to them, and count the iteration in ``done``)."""

    def __init__(self, plan):
        self.loss, self.k, self.train_data = plan.loss, plan.k, plan.data
        self.y = np.asarray(plan.y, np.float64).reshape(len(plan.y), -1)
        self.w = plan.w
        self.booster, self.done, self.first = None, 0, 0
        self.trees: list = []
        self._states: dict[int, DataState] = {}
        self.steps_of = None  # where the rows are one machine's share (see renewed_leaf_values)

    def begin(self, booster, iteration):
        """Before each iteration: the booster, and on the first call the iteration training
        starts at (continuing a model, its iterations are not renewed here)."""
        if self.booster is None:
            self.first = self.done = iteration
        self.booster = booster

    def state(self, data, cached):
        """The state of ``data``, made (``_new_state``) from its cached scores the first time."""
        state = self._states.get(id(data))
        if state is None or state.data is not data:
            state = self._states[id(data)] = self._new_state(data, cached)
        return state

    def sync(self):
        """Renew the trees of the newest iteration, if not done yet (at most one: called every
        round, from the metrics and after each iteration)."""
        if self.booster is not None and self.done < self._iterations(self.booster):
            self._renew(self._states[id(self.train_data)])

    def new_values(self, leaf_values, leaf, residual, column, learning_rate):
        """The renewed values of a tree's leaves (see ``renewed_leaf_values``)."""
        return renewed_leaf_values(self.loss, leaf_values, leaf, residual, self.w, column, learning_rate, self.steps_of)

    def _iterations(self, booster):
        raise NotImplementedError

    def _new_state(self, data, cached):
        raise NotImplementedError

    def _renew(self, state):
        raise NotImplementedError


class LeafLookup:
    """Which leaf each row fell in, from the tree's output for the row (the change of its
    cached score) and the tree's leaf values: the nearest value (a cached score changes by the
    leaf value up to rounding). Leaves with equal values are told apart by nothing: their rows
    all go to the lowest-numbered one (``same``: for each leaf, the lowest-numbered leaf of its
    value). Built once per tree, then used once per data set: the training rows' pass
    (``training_rows``), then each other data set's (``add_change``)."""

    def __init__(self, leaf_values):
        self.values = leaf_values = np.ascontiguousarray(leaf_values, np.float64)
        order = np.argsort(leaf_values, kind="stable")
        v = leaf_values[order]
        self.mid = (v[1:] + v[:-1]) / 2  # ascending: a row's slot is the count of those <= its output
        first = np.r_[True, v[1:] != v[:-1]]  # a new value starts (stable: its lowest leaf first)
        self.same = np.empty(len(order), np.intp)
        self.same[order] = order[first][np.cumsum(first) - 1]
        self._leaf = self.same[order]  # the leaf of each slot

    def training_rows(self, cached, seen, correction, y, leaf, residual):
        """For the training rows (one output column; the tree's output for a row is ``cached -
        seen``, its scores now and when last seen): each row's leaf into ``leaf``, its residual
        against the renewed model before this tree, ``y - (seen + correction)``, into
        ``residual``. Returns how many rows are farther from their leaf's value than the
        rounding of their cached score allows: 0 unless a leaf is missing from the values."""
        return cpu.tree_rows(self.mid, self._leaf, self.values, cached, seen, correction, y, leaf, residual)

    def add_change(self, change, cached, seen, correction):
        """``correction += change`` of each row's leaf (``change``: per leaf), the leaves read
        from the rows' outputs ``cached - seen``: a data set brought up to the renewed tree."""
        cpu.add_leaf_change(self.mid, self._leaf, change, cached, seen, correction)


def local_steps(loss, residual, weight, leaf, n_leaves, column):
    """Each leaf's step (``loss.leaf_values``) over these rows; NaN for a leaf without rows."""
    return loss.leaf_values(residual, weight, leaf, np.full(n_leaves, np.nan), column)


def renewed_leaf_values(loss, leaf_values, leaf, residual, weight, column, learning_rate, steps_of=None):
    """New values of a tree's leaves (``leaf``: each row's leaf, an index into ``leaf_values``):
    ``learning_rate x loss.leaf_value`` of the residuals of the rows in each leaf; a leaf without
    rows keeps its value. ``steps_of``: where these rows are one machine's share of the training
    rows, ``steps_of(loss, residual, weight, leaf, n_leaves, column)`` gives each leaf's step
    over every machine's rows (NaN for a leaf without rows), in place of ``local_steps``."""
    leaf_values = np.asarray(leaf_values, np.float64)
    steps = (steps_of or local_steps)(loss, residual, weight, leaf, len(leaf_values), column)
    return np.where(np.isnan(steps), leaf_values, learning_rate * steps)


class RenewedMetric:
    """A metric callable (the loss's own or the user's), given the renewed model's margins:
    under an adapter's leaf renewal the booster's cached scores hold the trees' original leaf
    values, so each call first renews the newest trees (``renewal.sync()``: before any set is
    scored) and passes ``renewal.scores``. The callable itself is not changed."""

    def __init__(self, metric, renewal):
        self.metric, self.renewal = metric, renewal

    def __call__(self, preds, data):
        self.renewal.sync()
        return self.metric(self.renewal.scores(preds, data), data)


def renewed_metrics(metrics, renewal):
    """``metrics`` (one callable, or a list or tuple of them) for a training renewed by
    ``renewal``: each wrapped in ``RenewedMetric``."""
    if metrics is None:
        return None
    if isinstance(metrics, list | tuple):
        return [RenewedMetric(m, renewal) for m in metrics]
    return RenewedMetric(metrics, renewal)


BUILT_IN_METRIC_WARNING = (
    "{library}'s built-in metrics ({metrics!r}) score its cached scores, which do not follow the "
    "renewed leaves: their values, and early stopping on them, are for the trees' original leaf "
    "values; the loss's metric (the default) and metric callables see the renewed model"
)
