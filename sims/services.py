"""Service kinds: how each kind's requests and true labels are generated, and its real scikit-learn model.

A kind is one class. It names its features (with the mean and spread they have in
production), gives the true log-odds of the positive label as a function of the
standardised features, and says which estimator the team behind it would train. The true
relationships are deliberately nonlinear, with a regime that the reference data barely
covers: a covariate shift into that regime really hurts a model trained on the reference,
while a model refitted on data from the new regime recovers.

    >>> kind = KINDS["fraud"]()
    >>> rng = np.random.default_rng(0)
    >>> X = kind.sample(rng, 5)
    >>> X.shape, kind.label(X, rng).shape
    ((5, 6), (5,))
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

REFERENCE_ROWS = 4000


@dataclass(frozen=True)
class Feature:
    """One model input: its name and the mean and standard deviation it has in healthy traffic."""

    name: str
    mean: float
    std: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ServiceKind:
    """A kind of AI service: the generating process of its requests and labels, and its estimator.

    Subclasses set the class attributes and implement ``logit`` and ``estimator``.
    ``drift_features`` are the features a ``data_drift`` fault moves by default,
    ``null_features`` those a ``pipeline_nulls`` fault blanks by default.
    """

    name: ClassVar[str]
    task: ClassVar[str] = "binary_classification"
    device: ClassVar[str] = "gpu"  # which utilisation the queue drives: "gpu" or "cpu"
    service_ms: ClassVar[float] = 40.0  # mean model time per request on one replica
    features: ClassVar[tuple[Feature, ...]]
    drift_features: ClassVar[tuple[str, ...]]
    null_features: ClassVar[tuple[str, ...]]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def means(self) -> np.ndarray:
        return np.array([f.mean for f in self.features])

    @property
    def stds(self) -> np.ndarray:
        return np.array([f.std for f in self.features])

    def index(self, names: list[str] | tuple[str, ...]) -> list[int]:
        """Column indices of the named features; ValueError naming the unknown ones."""
        unknown = [n for n in names if n not in self.feature_names]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown} for kind {self.name!r}; known: {self.feature_names}")
        return [self.feature_names.index(n) for n in names]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Healthy feature rows, in raw units."""
        return self.means + self.stds * rng.standard_normal((n, len(self.features)))

    def label(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """True 0/1 labels of clean feature rows (raw units)."""
        z = (X - self.means) / self.stds
        return (rng.random(len(X)) < _sigmoid(self.logit(z))).astype(np.int8)

    def logit(self, z: np.ndarray) -> np.ndarray:
        """True log-odds of label 1 given standardised features ``z`` (n, d)."""
        raise NotImplementedError

    def estimator(self, seed: int) -> BaseEstimator:
        """A fresh, unfitted scikit-learn classifier with ``predict_proba``."""
        raise NotImplementedError


class FraudKind(ServiceKind):
    """Card-transaction fraud classifier (gradient-boosted trees on a GPU-backed server).

    Single-threaded estimators only: OpenMP-parallel ones (HistGradientBoosting) stall
    badly when the simulator shares a busy machine.
    """

    name = "fraud"
    device = "gpu"
    service_ms = 35.0
    features = (
        Feature("amount", 80.0, 40.0),
        Feature("merchant_risk", 0.5, 0.15),
        Feature("velocity_1h", 3.0, 1.5),
        Feature("account_age_days", 900.0, 300.0),
        Feature("distance_km", 40.0, 15.0),
        Feature("device_score", 0.6, 0.1),
    )
    drift_features = ("amount", "merchant_risk", "device_score")
    null_features = ("merchant_risk", "velocity_1h")

    def logit(self, z: np.ndarray) -> np.ndarray:
        # Merchant risk only raises the odds for ordinary amounts; for amounts far above the
        # usual (a regime the reference barely covers) its effect flips.
        return 1.3 * (
            3.0 * z[:, 1] * np.tanh(1.5 * (1.5 - z[:, 0]))
            + 2.0 * z[:, 2]
            - 1.4 * z[:, 3]
            + 1.4 * np.sin(1.3 * z[:, 4])
            + 0.8 * z[:, 0]
            - 0.4
        )

    def estimator(self, seed: int) -> BaseEstimator:
        return GradientBoostingClassifier(
            n_estimators=60, max_depth=3, learning_rate=0.15, subsample=0.8, min_samples_leaf=30, random_state=seed
        )


class CreditKind(ServiceKind):
    """Credit-default scoring (spline logistic regression on CPU)."""

    name = "credit"
    device = "cpu"
    service_ms = 20.0
    features = (
        Feature("income", 55000.0, 18000.0),
        Feature("debt_ratio", 0.35, 0.12),
        Feature("history_months", 96.0, 40.0),
        Feature("late_payments", 1.0, 0.8),
        Feature("utilization", 0.4, 0.15),
        Feature("loan_amount", 15000.0, 6000.0),
    )
    drift_features = ("income", "debt_ratio", "history_months")
    null_features = ("debt_ratio", "history_months")

    def logit(self, z: np.ndarray) -> np.ndarray:
        return 1.2 * (
            2.6 * z[:, 1]
            - 2.4 * np.tanh(1.2 * z[:, 0])
            + 3.2 * np.sin(1.3 * z[:, 4])
            + 1.4 * z[:, 3]
            - 0.8 * z[:, 2]
            - 0.4
        )

    def estimator(self, seed: int) -> BaseEstimator:
        return make_pipeline(
            SplineTransformer(n_knots=5, degree=3, extrapolation="linear"),
            LogisticRegression(C=1.0, max_iter=500),
        )


KINDS: dict[str, type[ServiceKind]] = {k.name: k for k in (FraudKind, CreditKind)}


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version: the fitted estimator and the reference it was validated on.

    ``reference_*`` are validation rows from the same process as the training rows but held
    out of the fit (raw feature layout of the service), so the reference accuracy is an
    honest estimate of live accuracy. ``impute`` are the training means the serving path
    fills nulls with.
    """

    version: str
    estimator: BaseEstimator
    impute: np.ndarray
    reference_features: np.ndarray
    reference_predictions: np.ndarray
    reference_labels: np.ndarray
    created_at: datetime | None = None
    note: str = ""

    def score(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 for feature rows as the pipeline delivers them (NaN imputed)."""
        X = np.where(np.isnan(X), self.impute, X)
        return self.estimator.predict_proba(X)[:, 1]

    @property
    def reference_accuracy(self) -> float:
        return float(np.mean((self.reference_predictions >= 0.5) == self.reference_labels))


def fit_estimator(kind: ServiceKind, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[BaseEstimator, np.ndarray]:
    """The kind's estimator fitted on ``X, y`` (nulls imputed with the column means), and those means."""
    impute = np.nanmean(X, axis=0)
    return kind.estimator(seed).fit(np.where(np.isnan(X), impute, X), y), impute


def reference_rows(kind: ServiceKind, seed: int, n: int = REFERENCE_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Healthy labelled rows of a kind, reproducible from the seed."""
    rng = np.random.default_rng([seed, 1009])
    X = kind.sample(rng, n)
    return X, kind.label(X, rng)


@functools.lru_cache(maxsize=128)
def trained_version(
    kind_name: str, seed: int, *, version: str = "v1", layout: tuple[int, ...] | None = None, note: str = ""
) -> ModelVersion:
    """A version trained on ``REFERENCE_ROWS`` healthy rows drawn from ``seed`` and validated on as many more.

    ``layout`` reorders the columns the estimator is trained and validated on. A version
    whose layout differs from the serving one is the classic training/serving skew: it
    validates well offline and serves badly.

    Cached because fitting is the slow part of world creation; versions are immutable,
    so worlds in one process may share them.
    """
    kind = KINDS[kind_name]()
    X, y = reference_rows(kind, seed, 2 * REFERENCE_ROWS)
    cols = list(layout) if layout else list(range(X.shape[1]))
    train, ref = slice(0, REFERENCE_ROWS), slice(REFERENCE_ROWS, None)
    estimator, impute = fit_estimator(kind, X[train][:, cols], y[train], seed=seed)
    return ModelVersion(
        version=version,
        estimator=estimator,
        impute=impute[np.argsort(cols)],
        reference_features=X[ref],
        reference_predictions=estimator.predict_proba(X[ref][:, cols])[:, 1],
        reference_labels=y[ref],
        note=note,
    )
