"""OpsGraph's own Prometheus metrics: counters and a latency histogram in memory, gauges read from the store."""

from __future__ import annotations

import threading
from collections import defaultdict

from memory.store import Store

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INCIDENT_STATUSES = ("open", "awaiting_approval", "executing", "resolved", "escalated")


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    escaped = {k: str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for k, v in pairs.items()}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(escaped.items())) + "}"


class Metrics:
    """Thread-safe counters for graph runs and HTTP requests, and a request latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.graph_runs: dict[str, int] = defaultdict(int)
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], list[float]] = {}  # (method, route) -> bucket counts + [sum, count]

    def graph_run(self, ended: str) -> None:
        """Count one graph run by how it ended."""
        with self._lock:
            self.graph_runs[ended] += 1

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request and observe its latency."""
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            cells = self.latency.setdefault((method, route), [0.0] * (len(LATENCY_BUCKETS) + 2))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    cells[i] += 1
            cells[-2] += seconds
            cells[-1] += 1

    def render(self, store: Store | None) -> str:
        """The Prometheus text exposition format (0.0.4)."""
        lines: list[str] = []

        def family(name: str, kind: str, help_: str) -> None:
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} {kind}"])

        if store is not None:
            counts = dict.fromkeys(INCIDENT_STATUSES, 0)
            for incident in store.incidents():
                counts[incident.status] = counts.get(incident.status, 0) + 1
            family("opsgraph_incidents", "gauge", "Incidents by status.")
            lines += [f"opsgraph_incidents{_labels({'status': s})} {n}" for s, n in sorted(counts.items())]
            family("opsgraph_approvals_pending", "gauge", "Approval requests waiting for a human.")
            lines.append(f"opsgraph_approvals_pending {len(store.approvals(status='pending'))}")
        with self._lock:
            family("opsgraph_graph_runs_total", "counter", "Graph runs in this process, by how they ended.")
            lines += [f"opsgraph_graph_runs_total{_labels({'ended': e})} {n}" for e, n in sorted(self.graph_runs.items())]
            family("opsgraph_http_requests_total", "counter", "HTTP requests served, by method, route and status.")
            lines += [f"opsgraph_http_requests_total{_labels({'method': m, 'route': r, 'status': s})} {n}"
                      for (m, r, s), n in sorted(self.requests.items())]
            family("opsgraph_http_request_duration_seconds", "histogram", "HTTP request latency.")
            for (method, route), cells in sorted(self.latency.items()):
                base = {"method": method, "route": route}
                for bound, count in zip(LATENCY_BUCKETS, cells, strict=False):
                    lines.append(f"opsgraph_http_request_duration_seconds_bucket{_labels({**base, 'le': str(bound)})} "
                                 f"{int(count)}")
                lines.append(f"opsgraph_http_request_duration_seconds_bucket{_labels({**base, 'le': '+Inf'})} "
                             f"{int(cells[-1])}")
                lines.append(f"opsgraph_http_request_duration_seconds_sum{_labels(base)} {cells[-2]:.6f}")
                lines.append(f"opsgraph_http_request_duration_seconds_count{_labels(base)} {int(cells[-1])}")
        return "\n".join(lines) + "\n"


METRICS = Metrics()
