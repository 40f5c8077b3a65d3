"""A Prometheus HTTP API stub: /api/v1/query_range answers from scripted functions of time, chosen by query text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from tests.stubs.http_stub import Reply, Seen, Stub

Series = Callable[[float], float | str]  # timestamp -> value (a float, or a raw string such as "NaN")


def params(request: Seen) -> dict[str, str]:
    """The query-string parameters of a request."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def matrix(*series: list[list[Any]], labels: dict[str, str] | None = None) -> Reply:
    """A successful range-query answer holding the given ``values`` lists."""
    return Reply({"status": "success", "data": {"resultType": "matrix",
                                                "result": [{"metric": labels or {}, "values": v} for v in series]}})


def prometheus_answer(by_text: dict[str, Series]) -> Callable[[Seen, Stub], Reply]:
    """Answer each query_range with the series of the first ``by_text`` key found in the query (none: empty)."""

    def answer(request: Seen, _stub: Stub) -> Reply:
        if not urlsplit(request.path).path.endswith("/api/v1/query_range"):
            return Reply({"status": "error", "errorType": "not_found", "error": request.path}, status=404)
        p = params(request)
        start, end, step = float(p["start"]), float(p["end"]), float(p["step"])
        for text, fn in by_text.items():
            if text in p["query"]:
                points = int(np.floor((end - start) / step + 1e-6)) + 1
                values = [[start + i * step, str(fn(start + i * step))] for i in range(points)]
                return matrix(values)
        return matrix()

    return answer


def queries(stub: Stub) -> list[str]:
    """Every PromQL query the stub received."""
    return [params(s)["query"] for s in stub.seen if "query" in params(s)]
