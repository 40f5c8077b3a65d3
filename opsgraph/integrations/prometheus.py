"""A MetricSource over the Prometheus HTTP API: latency, errors, traffic and utilisation per service via PromQL.

Configuration is a YAML file (see ``docs/usage.md``)::

    prometheus:
      url: http://prometheus:9090
      timeout_s: 5          # per HTTP request
      attempts: 3           # tenacity retries on connection errors, timeouts and 5xx
      step_s: 60            # resolution of query_range (raised so a window never exceeds MAX_POINTS)
    defaults:               # PromQL templates for every service; $service and each label are substituted
      queries:
        p95_ms: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="$job"}[5m]))) * 1000
        rps: sum(rate(http_requests_total{job="$job"}[5m]))
        error_rate: sum(rate(http_requests_total{job="$job",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="$job"}[5m]))
    services:
      fraud-api:
        labels: {job: fraud-api}
        info: {kind: classifier, tier: 1, slo_p95_ms: 250}
        queries: {gpu_util: avg(DCGM_FI_DEV_GPU_UTIL{pod=~"fraud-api-.*"}) / 100}   # adds to / overrides defaults

Metric names the monitor and the dashboard read: ``p95_ms``, ``rps``, ``error_rate``, ``gpu_util``,
``cpu_util``, ``mem_util`` (utilisations as shares 0..1); any other name is passed through in
``ServiceWindow.metrics``. Each template must return one series (aggregate with ``sum``/``avg``).

What Prometheus cannot give: per-request latencies (``latency_ms`` holds the per-step p95 series, so
``latency_slo`` judges the p95 of p95s), and features, predictions and labels, which live in a
feature/label store, not in Prometheus. Those arrays are empty here — a feature/label store
integration fills them — so the data and model checks of the monitor report insufficient data
while the latency, error and utilisation checks run. (The reference carries one all-NaN placeholder
feature column, ``NO_FEATURES``, because ``tools.drift.ReferenceProfile`` cannot be built from a
reference with no rows; every feature check sees no data and says so.)

Errors: an unreachable, slow or failing Prometheus, a PromQL error, or a malformed answer raise
:class:`PrometheusError` with the URL, the query and the cause, after the retries; nothing is
cached or half-updated, so the next call simply asks again.
"""

from __future__ import annotations

import math
import string
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from tools.observations import PlatformEvent, ServiceInfo, ServiceReference, ServiceWindow

MAX_POINTS = 11_000  # Prometheus refuses query_range answers over 11,000 points per series
NO_FEATURES = "__no_feature_store__"
KNOWN_METRICS = ("p95_ms", "rps", "error_rate", "gpu_util", "cpu_util", "mem_util")


class PrometheusError(RuntimeError):
    """Prometheus could not answer usefully: unreachable, timed out, an HTTP or PromQL error, or a malformed body."""


# -- configuration ------------------------------------------------------------------------------------
class ServerConfig(BaseModel):
    """Where Prometheus is and how patiently to ask it."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    attempts: int = Field(default=3, ge=1, le=10)
    step_s: float = Field(default=60.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. Authorization for a protected Prometheus


class QuerySet(BaseModel):
    """PromQL templates by metric name."""

    model_config = ConfigDict(extra="forbid")
    queries: dict[str, str] = Field(default_factory=dict)

    @field_validator("queries")
    @classmethod
    def _templates(cls, queries: dict[str, str]) -> dict[str, str]:
        for name, template in queries.items():
            if not name.isidentifier():
                raise ValueError(f"metric name {name!r} must be an identifier")
            if not template.strip():
                raise ValueError(f"empty PromQL template for {name!r}")
        return queries


class ServiceConfig(QuerySet):
    """One monitored service: its labels (substituted into the templates), facts and query overrides."""

    labels: dict[str, str] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)


class PrometheusConfig(BaseModel):
    """The whole YAML file."""

    model_config = ConfigDict(extra="forbid")
    prometheus: ServerConfig
    defaults: QuerySet = Field(default_factory=QuerySet)
    services: dict[str, ServiceConfig] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path | str) -> PrometheusConfig:
        """Read and validate a YAML file; a clear ValueError names what is wrong."""
        try:
            raw = yaml.safe_load(Path(path).read_text())
            config = cls.model_validate(raw)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ValueError(f"invalid Prometheus configuration {path}: {exc}") from exc
        for name in config.services:
            config.queries_for(name)  # every template must substitute
        return config

    def queries_for(self, service: str) -> dict[str, str]:
        """The service's PromQL queries with ``$service`` and its labels substituted."""
        spec = self.services[service]
        values = {"service": service, **spec.labels}
        out = {}
        for name, template in {**self.defaults.queries, **spec.queries}.items():
            try:
                out[name] = string.Template(template).substitute(values)
            except KeyError as exc:
                raise ValueError(f"service {service!r}, metric {name!r}: template needs ${exc.args[0]}, which is not "
                                 f"one of its labels (known: {', '.join(sorted(values))})") from exc
            except ValueError as exc:  # a lone '$' or '${' in the template
                raise ValueError(f"service {service!r}, metric {name!r}: invalid template placeholder: {exc}") from exc
        return out


# -- the source ---------------------------------------------------------------------------------------
def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):  # connection refused, reset, timeouts
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500


class PrometheusSource:
    """``tools.observations.MetricSource`` over Prometheus ``/api/v1/query_range``."""

    def __init__(self, config: PrometheusConfig, *, client: httpx.Client | None = None,
                 clock: Any = None) -> None:
        self.config = config
        server = config.prometheus
        self.client = client or httpx.Client(base_url=server.url.rstrip("/"), timeout=server.timeout_s,
                                             headers=server.headers)
        self._clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_file(cls, path: Path | str) -> PrometheusSource:
        """A source from a YAML configuration file."""
        return cls(PrometheusConfig.load(path))

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- MetricSource
    def services(self) -> list[ServiceInfo]:
        return [ServiceInfo(name=name, **spec.info) for name, spec in self.config.services.items()]

    def now(self) -> datetime:
        return self._clock()

    def _known(self, service: str) -> None:
        if service not in self.config.services:
            raise KeyError(f"unknown service {service!r}; configured: {', '.join(sorted(self.config.services))}")

    def reference(self, service: str) -> ServiceReference:
        """No training-time data lives in Prometheus: an all-NaN placeholder column, empty predictions and labels."""
        self._known(service)
        empty = np.empty(0)
        return ServiceReference(service=service, feature_names=[NO_FEATURES], features=np.full((1, 1), np.nan),
                                predictions=empty, labels=empty, latency_ms=empty)

    def window(self, service: str, minutes: float) -> ServiceWindow:
        """The last ``minutes`` of every configured metric, on one time grid; features etc. are empty."""
        self._known(service)
        if not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
            raise ValueError(f"window minutes must be a positive number, not {minutes!r}")
        end = self.now()
        start = end - timedelta(minutes=minutes)
        step = max(self.config.prometheus.step_s, math.ceil(minutes * 60.0 / MAX_POINTS))
        points = int(math.floor((end - start).total_seconds() / step + 1e-6)) + 1  # Prometheus includes both ends
        grid = start.timestamp() + step * np.arange(points)
        metrics: dict[str, np.ndarray] = {}
        for name, query in self.config.queries_for(service).items():
            series = self._on_grid(self.query_range(query, start, end, step), grid, step)
            if series is not None:
                metrics[name] = series
        metrics["minute"] = (grid - grid[0]) / 60.0
        requests, errors = self._counts(metrics, step)
        empty = np.empty(0)
        return ServiceWindow(service=service, start=start, end=end, feature_names=[NO_FEATURES],
                             features=np.empty((0, 1)), predictions=empty, labels=empty, labelled_predictions=empty,
                             latency_ms=metrics.get("p95_ms", empty).copy(), errors=errors, requests=requests,
                             metrics=metrics)

    def events(self, service: str, since: datetime) -> list[PlatformEvent]:
        """Prometheus holds no deploy/scale events (a Kubernetes or CI integration provides them)."""
        self._known(service)
        return []

    def wait(self, minutes: float) -> None:
        """A live source lets real time pass."""
        time.sleep(max(0.0, minutes) * 60.0)

    # -- HTTP
    def query_range(self, query: str, start: datetime, end: datetime, step: float) -> list[dict[str, Any]]:
        """The ``result`` of one range query (a matrix), after retries; PrometheusError otherwise."""
        params = {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                  "step": f"{step:g}"}
        where = f"{self.client.base_url}/api/v1/query_range"
        try:
            for attempt in Retrying(stop=stop_after_attempt(self.config.prometheus.attempts),
                                    wait=wait_exponential(multiplier=0.2, max=2.0),
                                    retry=retry_if_exception(_retryable), reraise=True):
                with attempt:
                    response = self.client.get("/api/v1/query_range", params=params)
                    if response.status_code >= 500:
                        response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise PrometheusError(f"Prometheus at {where} answered {exc.response.status_code} for {query!r} "
                                  f"after {self.config.prometheus.attempts} attempts") from exc
        except (httpx.TransportError, RetryError) as exc:
            raise PrometheusError(f"Prometheus at {where} unreachable for {query!r} after "
                                  f"{self.config.prometheus.attempts} attempts: {type(exc).__name__}: {exc}") from exc
        return self._matrix(response, query, where)

    @staticmethod
    def _matrix(response: httpx.Response, query: str, where: str) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusError(f"Prometheus at {where} sent a body that is not JSON "
                                  f"(HTTP {response.status_code}) for {query!r}") from exc
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise PrometheusError(f"malformed Prometheus answer for {query!r}: no status field")
        if body["status"] == "error" or response.status_code >= 400:
            raise PrometheusError(f"Prometheus rejected {query!r} (HTTP {response.status_code}): "
                                  f"{body.get('errorType', '?')}: {body.get('error', 'no message')}")
        data = body.get("data")
        if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
            raise PrometheusError(f"malformed Prometheus answer for {query!r}: expected data.resultType 'matrix' "
                                  f"with a result list")
        return data["result"]

    @staticmethod
    def _on_grid(result: list[dict[str, Any]], grid: np.ndarray, step: float) -> np.ndarray | None:
        """One series placed on the grid; gaps and NaN/Inf filled from neighbours; None when it has no value."""
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"query returned {len(result)} series ({[r.get('metric') for r in result[:3]]}...); "
                                  f"aggregate it to one series (sum/avg by nothing)")
        values = np.full(grid.size, np.nan)
        try:
            points = [(float(ts), float(value)) for ts, value in result[0]["values"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise PrometheusError(f"malformed Prometheus series: values must be [timestamp, \"number\"] pairs "
                                  f"({type(exc).__name__}: {exc})") from exc
        for ts, value in points:
            index = int(round((ts - grid[0]) / step))
            if 0 <= index < grid.size and math.isfinite(value):
                values[index] = value
        finite = np.isfinite(values)
        if not finite.any():
            return None
        positions = np.arange(grid.size)
        last = np.maximum.accumulate(np.where(finite, positions, -1))  # carry the last value forward
        first = int(np.argmax(finite))
        filled = np.where(last >= 0, values[np.maximum(last, 0)], values[first])  # leading gap: first value
        return filled

    @staticmethod
    def _counts(metrics: dict[str, np.ndarray], step: float) -> tuple[int, int]:
        """Requests and errors in the window, from the request rate and error share series."""
        rps = metrics.get("rps")
        if rps is None:
            return 0, 0
        per_step = np.clip(rps, 0, None) * step
        requests = int(round(float(per_step.sum())))
        share = metrics.get("error_rate")
        errors = int(round(float((np.clip(share, 0, 1) * per_step).sum()))) if share is not None else 0
        return requests, min(errors, requests)
