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
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import SplineTransformer, StandardScaler

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

    Subclasses set the class attributes and implement ``logit`` and ``estimator`` (most
    by naming a shape below: ``logit = _regime(0, 1, 2, 3, 4)``, ``estimator = _boosted``).
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

    def label(
        self,
        X: np.ndarray,
        rng: np.random.Generator,
        adjust: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """True 0/1 labels of clean feature rows (raw units); ``adjust(z, logit)`` changes the concept."""
        z = (X - self.means) / self.stds
        logit = self.logit(z)
        if adjust is not None:
            logit = adjust(z, logit)
        return (rng.random(len(X)) < _sigmoid(logit)).astype(np.int8)

    def logit(self, z: np.ndarray) -> np.ndarray:
        """True log-odds of label 1 given standardised features ``z`` (n, d)."""
        raise NotImplementedError

    def estimator(self, seed: int) -> BaseEstimator:
        """A fresh, unfitted scikit-learn classifier with ``predict_proba``."""
        raise NotImplementedError


def _regime(a: int, b: int, c: int, d: int, e: int) -> Callable[[ServiceKind, np.ndarray], np.ndarray]:
    """A kind's ``logit`` in which feature ``b`` helps while ``a`` is ordinary and hurts when ``a`` is far above it."""

    def logit(self: ServiceKind, z: np.ndarray) -> np.ndarray:
        return 1.3 * (
            3.0 * z[:, b] * np.tanh(1.5 * (1.5 - z[:, a]))
            + 2.0 * z[:, c]
            - 1.4 * z[:, d]
            + 1.4 * np.sin(1.3 * z[:, e])
            + 0.8 * z[:, a]
            - 0.4
        )

    return logit


def _saturating(a: int, b: int, c: int, d: int, e: int) -> Callable[[ServiceKind, np.ndarray], np.ndarray]:
    """A ``logit`` saturating in ``a`` and periodic in ``e``: linear extrapolation gets both wrong."""

    def logit(self: ServiceKind, z: np.ndarray) -> np.ndarray:
        return 1.2 * (
            2.6 * z[:, b]
            - 2.4 * np.tanh(1.2 * z[:, a])
            + 3.2 * np.sin(1.3 * z[:, e])
            + 1.4 * z[:, d]
            - 0.8 * z[:, c]
            - 0.4
        )

    return logit


# Estimators, written as methods so that a kind names its own with ``estimator = _boosted``.


def _boosted(self: ServiceKind, seed: int) -> BaseEstimator:
    return GradientBoostingClassifier(
        n_estimators=60, max_depth=3, learning_rate=0.15, subsample=0.8, min_samples_leaf=30, random_state=seed
    )


def _spline_logistic(self: ServiceKind, seed: int) -> BaseEstimator:
    return make_pipeline(
        SplineTransformer(n_knots=5, degree=3, extrapolation="linear"), LogisticRegression(C=1.0, max_iter=500)
    )


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

    # Merchant risk only raises the odds for ordinary amounts; for amounts far above the
    # usual (a regime the reference barely covers) its effect flips.
    logit = _regime(0, 1, 2, 3, 4)
    estimator = _boosted


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

    logit = _saturating(0, 1, 2, 3, 4)
    estimator = _spline_logistic


class DemandKind(ServiceKind):
    """Demand forecaster, framed as stock-out risk: P(tomorrow's demand for the SKU exceeds its stock)."""

    name = "demand"
    device = "cpu"
    service_ms = 25.0
    features = (
        Feature("promo_depth", 0.1, 0.06),
        Feature("price", 12.0, 4.0),
        Feature("footfall", 1500.0, 400.0),
        Feature("stock_units", 300.0, 90.0),
        Feature("temperature_c", 12.0, 7.0),
        Feature("competitor_price", 12.5, 4.0),
    )
    drift_features = ("promo_depth", "price", "competitor_price")
    null_features = ("footfall", "stock_units")

    logit = _regime(0, 1, 2, 3, 4)

    def estimator(self, seed: int) -> BaseEstimator:
        return RandomForestClassifier(n_estimators=40, max_depth=8, min_samples_leaf=10, random_state=seed)


class RecommenderKind(ServiceKind):
    """Recommender ranking model: P(the user clicks the recommended item)."""

    name = "recommender"
    device = "gpu"
    service_ms = 30.0
    features = (
        Feature("item_popularity", 0.0, 1.0),
        Feature("user_affinity", 0.0, 1.0),
        Feature("session_depth", 5.0, 2.5),
        Feature("recency_days", 10.0, 5.0),
        Feature("price_ratio", 1.0, 0.3),
        Feature("diversity", 0.5, 0.15),
    )
    drift_features = ("item_popularity", "user_affinity", "diversity")
    null_features = ("user_affinity", "session_depth")

    logit = _regime(1, 0, 3, 2, 4)
    estimator = _boosted


class DiagnosticKind(ServiceKind):
    """Diagnostic classifier over patient segments (feature ``segment``: 0 adult, 1 senior, 2 paediatric)."""

    name = "diagnostic"
    device = "cpu"
    service_ms = 30.0
    features = (
        Feature("biomarker_a", 1.0, 0.3),
        Feature("biomarker_b", 5.0, 1.5),
        Feature("age_years", 50.0, 18.0),
        Feature("bmi", 26.0, 4.0),
        Feature("blood_pressure", 125.0, 15.0),
        Feature("segment", 0.7, 0.78),
    )
    drift_features = ("biomarker_a", "biomarker_b", "age_years")
    null_features = ("biomarker_b", "age_years")
    segment_feature = "segment"
    segment_mix = (0.5, 0.3, 0.2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        X = super().sample(rng, n)
        X[:, 5] = rng.choice(len(self.segment_mix), size=n, p=self.segment_mix)
        return X

    logit = _saturating(0, 1, 2, 3, 4)
    estimator = _spline_logistic


class SearchKind(ServiceKind):
    """Embedding search: P(the top result is relevant), from query/result embedding statistics (k-NN)."""

    name = "search"
    device = "gpu"
    service_ms = 25.0
    features = (
        Feature("query_length", 6.0, 2.5),
        Feature("top1_cosine", 0.75, 0.08),
        Feature("top5_gap", 0.05, 0.02),
        Feature("doc_age_days", 200.0, 80.0),
        Feature("click_prior", 0.3, 0.1),
        Feature("embedding_norm", 1.0, 0.05),
    )
    drift_features = ("query_length", "top1_cosine", "embedding_norm")
    null_features = ("top1_cosine", "top5_gap")

    logit = _regime(0, 1, 2, 3, 4)

    def estimator(self, seed: int) -> BaseEstimator:
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=25, algorithm="kd_tree"))


class BatchKind(ServiceKind):
    """Nightly batch scoring of customer churn (CPU workers, seconds-scale latency budget)."""

    name = "batch"
    device = "cpu"
    service_ms = 150.0
    features = (
        Feature("tenure_months", 30.0, 14.0),
        Feature("monthly_spend", 60.0, 20.0),
        Feature("support_tickets", 2.0, 1.2),
        Feature("usage_trend", 0.0, 1.0),
        Feature("discount", 0.1, 0.05),
        Feature("contract_months", 12.0, 6.0),
    )
    drift_features = ("tenure_months", "monthly_spend", "support_tickets")
    null_features = ("monthly_spend", "support_tickets")

    logit = _saturating(0, 1, 2, 3, 4)
    estimator = _spline_logistic


class GatewayKind(ServiceKind):
    """API gateway in front of the models, with its own abuse/bot classifier on request metadata."""

    name = "gateway"
    device = "cpu"
    service_ms = 8.0
    features = (
        Feature("req_per_ip", 20.0, 8.0),
        Feature("ua_entropy", 3.0, 0.6),
        Feature("geo_risk", 0.3, 0.1),
        Feature("payload_kb", 4.0, 1.5),
        Feature("tls_score", 0.8, 0.1),
        Feature("path_depth", 3.0, 1.0),
    )
    drift_features = ("req_per_ip", "ua_entropy", "path_depth")
    null_features = ("geo_risk", "tls_score")

    logit = _regime(5, 0, 1, 2, 3)
    estimator = _boosted


@dataclass(frozen=True)
class Template:
    """One response template of the generative service, with how good users find it."""

    name: str
    text: str
    quality: float


class ChatKind(ServiceKind):
    """Generative chat assistant; responses come from templates whose mix can drift.

    Each request's features describe the response (template, grounding, retrieval...);
    the model is an evaluator scoring P(thumbs-up), and the label is the user's thumbs-up.
    ``render`` turns rows back into response text.
    """

    name = "chat"
    device = "gpu"
    service_ms = 60.0
    templates = (
        Template("answer", "Here is what I found about {topic}: {fact}.", 1.0),
        Template("answer_cited", "According to {source}, {fact} (source: {source}).", 1.5),
        Template("clarify", "Could you tell me a bit more about what you need on {topic}?", 0.0),
        Template("refuse", "Sorry, I can't help with that request.", -1.0),
        Template("off_topic", "Speaking of {other}, did you know that {other_fact}?", -2.5),
        Template("hallucinated", "{topic} was first introduced in {year} by {person}.", -3.0),
    )
    mix = (0.40, 0.30, 0.16, 0.10, 0.02, 0.02)
    drifted_mix = (0.15, 0.10, 0.10, 0.15, 0.25, 0.25)
    features = (
        Feature("prompt_tokens", 60.0, 25.0),
        Feature("retrieval_score", 0.7, 0.12),
        Feature("grounding", 0.75, 0.1),
        Feature("toxicity", 0.05, 0.03),
        Feature("response_tokens", 120.0, 40.0),
        Feature("template", 1.2, 1.2),
    )
    drift_features = ("prompt_tokens", "retrieval_score", "grounding")
    null_features = ("retrieval_score", "grounding")
    _topics = ("billing", "shipping", "returns", "passwords", "warranty", "invoices")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        X = super().sample(rng, n)
        X[:, 5] = rng.choice(len(self.templates), size=n, p=self.mix)
        return X

    def drift_templates(self, X: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
        """Redraw the template of a ``share`` of rows from the drifted mix (semantic drift)."""
        X = X.copy()
        redraw = rng.random(len(X)) < share
        X[redraw, 5] = rng.choice(len(self.templates), size=int(redraw.sum()), p=self.drifted_mix)
        return X

    def logit(self, z: np.ndarray) -> np.ndarray:
        template = np.rint(z[:, 5] * self.stds[5] + self.means[5]).astype(int).clip(0, len(self.templates) - 1)
        quality = np.array([t.quality for t in self.templates])[template]
        return 1.3 * (
            1.6 * quality + 2.0 * z[:, 1] * np.tanh(1.5 * (1.5 - z[:, 0])) + 1.6 * z[:, 2] - 1.2 * z[:, 3] - 0.3
        )

    estimator = _boosted

    def render(self, X: np.ndarray, seed: int = 0) -> list[str]:
        """Response texts of feature rows (template column), filled deterministically."""
        rng = np.random.default_rng(seed)
        out = []
        for code in np.nan_to_num(X[:, 5], nan=0).astype(int).clip(0, len(self.templates) - 1):
            topic, other = rng.choice(self._topics, 2, replace=False)
            out.append(
                self.templates[code].text.format(
                    topic=topic,
                    fact=f"{topic} requests are handled within {rng.integers(1, 5)} days",
                    source=f"the {topic} policy",
                    other=other,
                    other_fact=f"{other} has {rng.integers(2, 9)} steps",
                    year=int(rng.integers(1950, 2020)),
                    person="a team of experts",
                )
            )
        return out


KINDS: dict[str, type[ServiceKind]] = {
    k.name: k
    for k in (
        FraudKind,
        CreditKind,
        DemandKind,
        RecommenderKind,
        DiagnosticKind,
        SearchKind,
        BatchKind,
        GatewayKind,
        ChatKind,
    )
}


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
