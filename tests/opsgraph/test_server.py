"""The HTTP API on a real uvicorn server: auth and roles, approvals recorded and resumed, chat, health, metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from opsgraph.cli import app as cli
from opsgraph.loop import ServiceLoop
from opsgraph.runtime import Runtime
from opsgraph.server.app import MAX_BODY, create_app
from opsgraph.settings import Settings
from tests.stubs.fleet import pending_loop
from tests.stubs.servers import serve_app

TOKENS = {"tok-viewer": {"user": "vera", "roles": ["viewer"]},
          "tok-operator": {"user": "otto", "roles": ["operator"]},
          "tok-approver": {"user": "alice", "roles": ["approver"]}}


class Env:
    """The served app, its runtime and loop, and clients per role."""

    def __init__(self, base: str, runtime: Runtime, loop: ServiceLoop) -> None:
        self.base, self.runtime, self.loop = base, runtime, loop

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("server")
    settings = Settings.from_env(root / "home").model_copy(update={"memory_enabled": False})
    with Runtime(settings) as runtime:
        (settings.home / "tokens.yaml").write_text(yaml.safe_dump(TOKENS))
        loop = pending_loop(runtime, root)
        with serve_app(create_app(settings, runtime=runtime, llm=None)) as base:
            yield Env(base, runtime, loop)


def pending(env: Env) -> Any:
    return env.runtime.store.approvals(status="pending")


def test_health_readiness_and_openapi_docs(env: Env) -> None:
    with env.client(None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json()["ready"] is True
        assert "swagger" in c.get("/docs").text.lower()
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/api/services", "/api/incidents", "/api/incidents/{incident_id}", "/api/approvals",
                "/api/approvals/{approval_id}/approve", "/api/approvals/{approval_id}/deny", "/api/ask"} <= set(paths)


def test_every_api_route_needs_a_known_token(env: Env) -> None:
    with env.client(None) as anonymous, env.client("tok-nobody") as stranger:
        for path in ("/api/services", "/api/incidents", "/api/approvals"):
            assert anonymous.get(path).status_code == 401
            assert stranger.get(path).status_code == 401
        assert anonymous.get("/api/services").headers["www-authenticate"] == "Bearer"


def test_viewer_and_operator_cannot_approve(env: Env) -> None:
    row = pending(env)[0]
    for token in ("tok-viewer", "tok-operator"):
        with env.client(token) as c:
            response = c.post(f"/api/approvals/{row.id}/approve")
            assert response.status_code == 403, response.text
            assert "approver" in response.json()["detail"]
    assert env.runtime.store.approval(row.id).status == "pending"


def test_bad_payloads_get_a_clear_4xx_and_lose_nothing(env: Env) -> None:
    row = pending(env)[0]
    with env.client("tok-approver") as c:
        big = c.post("/api/ask", content=b'{"question": "' + b"x" * (MAX_BODY + 10) + b'"}',
                     headers={"Content-Type": "application/json"})
        assert big.status_code == 413 and "limit" in big.json()["detail"]
        assert c.post("/api/ask", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
        assert c.post("/api/ask", json={"question": ""}).status_code == 422
        assert c.post("/api/ask", json={"question": "hi", "role": "admin"}).status_code == 422
        assert c.post(f"/api/approvals/{row.id}/approve", json={"reason": 5}).status_code == 422
        assert c.post(f"/api/approvals/{row.id}/approve", content=b"[", headers={"Content-Type": "application/json"}).status_code == 422
        assert c.post("/api/approvals/apr-000000000000/approve").status_code == 404
        assert c.get("/api/incidents/inc-nope").status_code == 404
        assert c.get("/api/incidents?limit=0").status_code == 422
    assert env.runtime.store.approval(row.id).status == "pending"
    assert env.runtime.store.incident(row.incident_id).status == "awaiting_approval"


def test_services_incidents_and_approvals_are_listed(env: Env) -> None:
    row = pending(env)[0]
    with env.client("tok-viewer") as c:
        services = {s["name"]: s for s in c.get("/api/services").json()}
        assert services["fraud-api"]["health"] == "degraded"
        assert services["fraud-api"]["incident"]["id"] == row.incident_id
        assert services["credit-score"]["health"] in ("healthy", "breaching")
        series = services["fraud-api"]["series"]
        assert len(series["times"]) == len(series["p95_ms"]) > 10
        assert services["fraud-api"]["metrics"]["tool_call_id"].startswith("tc-service_metrics-")
        open_ = c.get("/api/incidents", params={"status": "open"}).json()
        assert [i["id"] for i in open_] == [row.incident_id] and open_[0]["pending_approvals"] == [row.id]
        listed = c.get("/api/approvals").json()
        assert listed[0]["id"] == row.id and listed[0]["action"]["name"] == "retrain_model"
        assert listed[0]["action"]["params_hash"] == row.params_hash


def test_chat_over_http_cites_stored_tool_calls(env: Env) -> None:
    with env.client("tok-viewer") as c:
        answer = c.post("/api/ask", json={"question": "what is wrong?"}).json()
    assert answer["intent"] == "wrong" and answer["citations"]
    assert all(env.runtime.store.tool_call(tc) is not None for tc in answer["citations"])


def test_metrics_are_prometheus_text(env: Env) -> None:
    with env.client(None) as c:
        c.get("/healthz")
        text = c.get("/metrics").text
    assert 'opsgraph_incidents{status="awaiting_approval"} 1' in text
    assert "opsgraph_approvals_pending 1" in text
    assert "# TYPE opsgraph_http_request_duration_seconds histogram" in text
    assert 'opsgraph_http_request_duration_seconds_count{method="GET",route="/healthz"}' in text
    assert 'opsgraph_graph_runs_total{ended="awaiting_approval"}' in text


def test_approver_approves_over_http_and_the_loop_resolves_the_incident(env: Env) -> None:
    row = pending(env)[0]
    with env.client("tok-approver") as c:
        response = c.post(f"/api/approvals/{row.id}/approve", json={"reason": "drift confirmed"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "approved" and response.json()["decided_by"] == "alice"
        again = c.post(f"/api/approvals/{row.id}/deny")
        assert again.status_code == 409 and "already approved" in again.json()["detail"]
        env.loop.step()  # the loop owns the world and resumes the thread
        detail = c.get(f"/api/incidents/{row.incident_id}").json()
    assert detail["status"] == "resolved", detail["summary"]
    assert detail["findings"] and all(f["tool_call_id"] for f in detail["findings"])
    assert {t["tool_call_id"] for t in detail["tool_calls"]} >= {f["tool_call_id"] for f in detail["findings"]}
    assert [a["status"] for a in detail["actions"] if a["name"] == "retrain_model"] == ["executed"]
    kinds = [e["kind"] for e in detail["audit"]]
    assert "approval.approved" in kinds and "action.executed" in kinds and "incident.closed" in kinds
    assert [t["step"] for t in detail["timeline"]][-1] == "record"
    assert detail["diagnosis"]["hypotheses"] and detail["series"]["p95_ms"]


def test_token_create_prints_a_working_token(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    home = env.runtime.settings.home
    result = CliRunner().invoke(cli, ["token", "create", "carol", "--role", "approver", "--home", str(home)])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert token not in (home / "tokens.yaml").read_text()  # stored hashed
    with env.client(token) as c:
        assert c.get("/api/approvals", params={"status": "all"}).status_code == 200
    bad = CliRunner().invoke(cli, ["token", "create", "carol", "--role", "boss", "--home", str(home)])
    assert bad.exit_code == 2

