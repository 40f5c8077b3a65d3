"""The Prometheus MetricSource against a local stub Prometheus (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from agents.deps import MonitorSettings
from agents.monitor import scan
from opsgraph.integrations.prometheus import NO_FEATURES, PrometheusConfig, PrometheusError, PrometheusSource
from tests.stubs.http_stub import Reply, Stub, serve_stub
from tests.stubs.prometheus_stub import matrix, params, prometheus_answer, queries
from tests.stubs.servers import free_port
from tools.observations import MetricSource

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CONFIG = {
    "prometheus": {"url": "http://placeholder", "timeout_s": 1, "attempts": 3, "step_s": 60},
    "defaults": {"queries": {
        "p95_ms": 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="$job"}[5m]))) * 1000',
        "rps": 'sum(rate(http_requests_total{job="$job"}[5m]))',
        "error_rate": 'sum(rate(http_requests_total{job="$job",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="$job"}[5m]))',
        "cpu_util": 'avg(rate(container_cpu_usage_seconds_total{pod=~"$service-.*"}[5m]))'}},
    "services": {
        "fraud-api": {"labels": {"job": "fraud"}, "info": {"kind": "classifier", "tier": 1, "slo_p95_ms": 250},
                      "queries": {"mem_util": 'avg(container_memory_working_set_bytes{pod=~"$service-.*"}) / 4e9'}},
        "search": {"labels": {"job": "search"}, "info": {"slo_p95_ms": 400}}},
}


SERIES = {  # fraud-api breaches latency and errors; search is healthy (first matching key wins)
    'bucket{job="fraud"}': lambda ts: 420.0 + (ts % 7),
    'code=~"5..'"\"}[5m])) / sum(rate(http_requests_total{job=\"fraud\"}": lambda ts: 0.08,
    'http_requests_total{job="fraud"}': lambda ts: 25.0,
    'bucket{job="search"}': lambda ts: 120.0,
    'code=~"5..'"\"}[5m])) / sum(rate(http_requests_total{job=\"search\"}": lambda ts: 0.001,
    'http_requests_total{job="search"}': lambda ts: 40.0,
    'pod=~"fraud-api-.*"}[5m]': lambda ts: 0.4,
    "container_memory_working_set_bytes": lambda ts: 0.5,
}


def source_for(url: str, tmp_path: Path, **server: object) -> PrometheusSource:
    spec = {**CONFIG, "prometheus": {**CONFIG["prometheus"], "url": url, **server}}
    path = tmp_path / "prometheus.yaml"
    path.write_text(yaml.safe_dump(spec))
    return PrometheusSource(PrometheusConfig.load(path), clock=lambda: NOW)


@pytest.fixture
def prom(tmp_path: Path) -> Iterator[tuple[Stub, PrometheusSource]]:
    with serve_stub(Stub(prometheus_answer(SERIES))) as stub:
        source = source_for(stub.url, tmp_path)
        try:
            yield stub, source
        finally:
            source.close()


def test_windows_come_from_query_range_with_templates_filled_per_service(prom: tuple[Stub, PrometheusSource]) -> None:
    stub, source = prom
    assert isinstance(source, MetricSource)
    assert [(s.name, s.slo_p95_ms, s.tier) for s in source.services()] == [("fraud-api", 250.0, 1), ("search", 400.0, 2)]
    window = source.window("fraud-api", 60)
    sent = queries(stub)
    assert any('http_request_duration_seconds_bucket{job="fraud"}' in q for q in sent) and all("$" not in q for q in sent)
    assert any('pod=~"fraud-api-.*"' in q for q in sent)  # $service substituted
    p = params(stub.seen[0])
    assert float(p["end"]) == NOW.timestamp() and float(p["end"]) - float(p["start"]) == 3600 and p["step"] == "60"
    assert set(window.metrics) == {"p95_ms", "rps", "error_rate", "cpu_util", "mem_util", "minute"}
    assert len(window.metrics["minute"]) == 61 and window.metrics["minute"][-1] == 60.0
    assert np.all(window.metrics["p95_ms"] >= 420) and window.latency_ms.size == 61
    assert window.requests == 25 * 60 * 61 and window.errors == round(0.08 * 25 * 60 * 61)
    # what Prometheus does not hold is empty, for a feature/label store integration to fill
    assert window.features.shape == (0, 1) and window.feature_names == [NO_FEATURES]
    assert window.predictions.size == window.labels.size == window.labelled_predictions.size == 0
    reference = source.reference("fraud-api")
    assert reference.predictions.size == reference.labels.size == reference.latency_ms.size == 0
    assert np.isnan(reference.features).all()
    assert source.events("fraud-api", NOW) == []


def test_monitor_scan_runs_on_prometheus_data(prom: tuple[Stub, PrometheusSource]) -> None:
    _stub, source = prom
    info = {s.name: s for s in source.services()}
    broken = scan(source, info["fraud-api"], MonitorSettings())
    assert {f.kind for f in broken.findings} == {"latency_slo", "error_rate"}
    status = {r.tool: r.status.value for r in broken.results}
    assert status["null_rate"] == status["psi"] == status["prediction_drift"] == status["performance_drop"] \
        == "insufficient_data"
    assert status["latency_slo"] == status["error_rate"] == status["resource_trend"] == "ok"
    assert not any(broken.checked.get(k) for k in ("null_rate", "feature_drift", "prediction_drift", "performance_drop"))
    healthy = scan(source, info["search"], MonitorSettings())
    assert healthy.findings == [] and healthy.checked["latency_slo"] and healthy.checked["error_rate"]


def test_gaps_nan_and_missing_series(tmp_path: Path) -> None:
    start = NOW.timestamp() - 600

    def gappy(request, _stub):  # noqa: ANN001
        query = params(request)["query"]
        if "bucket" in query:  # NaN, +Inf and a missing point: carried from neighbours
            return matrix([[start, "NaN"], [start + 60, "300"], [start + 180, "+Inf"], [start + 240, "310"]])
        if "5.." in query:
            return matrix()  # no series at all: the metric is left out
        return matrix([[start + 60 * i, "10"] for i in range(11)])

    with serve_stub(Stub(gappy)) as stub:
        source = source_for(stub.url, tmp_path)
        window = source.window("search", 10)
    assert window.metrics["p95_ms"].tolist() == [300, 300, 300, 300, 310, 310, 310, 310, 310, 310, 310]
    assert "error_rate" not in window.metrics and window.errors == 0 and window.requests == 10 * 60 * 11


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(b"<html>bad gateway</html>", status=200), "not JSON"),
    (Reply({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}, status=400),
     "bad_data: parse error at char 5"),
    (Reply({"status": "success", "data": {"resultType": "vector", "result": []}}), "expected data.resultType 'matrix'"),
    (Reply({"data": {}}), "no status field"),
    (Reply({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [["x"]]}]}}),
     "malformed Prometheus series"),
    (matrix([[1, "1"]], [[1, "2"]]), "aggregate it to one series"),
])
def test_malformed_answers_raise_a_clear_error_without_retrying(tmp_path: Path, reply: Reply, message: str) -> None:
    with serve_stub(Stub(lambda _r, _s: reply)) as stub:
        source = source_for(stub.url, tmp_path)
        with pytest.raises(PrometheusError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            source.window("fraud-api", 30)
    assert len(stub.seen) == 1  # a 4xx or a malformed body is not retried


def test_server_errors_are_retried_then_succeed(tmp_path: Path) -> None:
    stub = Stub(prometheus_answer(SERIES))
    stub.script = [Reply({"status": "error", "error": "overloaded"}, status=503), Reply(b"", status=502)]
    with serve_stub(stub):
        source = source_for(stub.url, tmp_path)
        window = source.window("search", 30)
    assert window.metrics["p95_ms"][-1] == 120.0
    assert len(stub.seen) == 2 + 4  # two failures, then one request per query (search has four)


def test_unreachable_or_slow_prometheus_is_a_clear_error(tmp_path: Path) -> None:
    source = source_for(f"http://127.0.0.1:{free_port()}", tmp_path, attempts=2, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(PrometheusError, match="unreachable .* after 2 attempts"):
        source.window("fraud-api", 30)
    assert time.monotonic() - started < 5
    with serve_stub(Stub(lambda _r, _s: Reply(matrix().body, delay_s=2))) as stub:
        slow = source_for(stub.url, tmp_path, attempts=2, timeout_s=0.3)
        with pytest.raises(PrometheusError, match="ReadTimeout"):
            slow.window("fraud-api", 30)
    assert len(stub.seen) == 2
    # nothing was lost: the same source answers once Prometheus is back
    with serve_stub(Stub(prometheus_answer(SERIES))) as back:
        source.client.base_url = back.url
        assert source.window("search", 30).metrics["rps"][-1] == 40.0


def test_bad_configuration_and_unknown_services(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "services": {"x": {"labels": {"job": "x"},
                                                                  "queries": {"p95_ms": 'up{job="$nope"}'}}}}))
    with pytest.raises(ValueError, match=r"metric 'p95_ms': template needs \$nope"):
        PrometheusConfig.load(path)
    path.write_text(yaml.safe_dump({**CONFIG, "prometheus": {"url": "ftp://x"}}))
    with pytest.raises(ValueError, match="invalid Prometheus configuration"):
        PrometheusConfig.load(path)
    path.write_text("prometheus: [")
    with pytest.raises(ValueError, match="invalid Prometheus configuration"):
        PrometheusConfig.load(path)
    source = source_for("http://127.0.0.1:9", tmp_path)
    with pytest.raises(KeyError, match="unknown service 'nope'"):
        source.window("nope", 10)
    with pytest.raises(ValueError, match="positive"):
        source.window("search", float("nan"))
