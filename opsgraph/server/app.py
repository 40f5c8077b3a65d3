"""The HTTP API (FastAPI): services, incidents, approvals, chat, health, metrics, dashboard and Slack endpoint.

Approve and deny only *record* the decision (``policies.approvals.decide``); the loop that owns the
incident's world resumes the graph at its next step (see ``opsgraph.loop``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from agents.chat import Answer, ChatEngine, service_health, service_metrics
from opsgraph.integrations import alertmanager
from opsgraph.loop import WorldReader
from opsgraph.runtime import Runtime
from opsgraph.server.auth import Identity, TokenBook, tokens_path
from opsgraph.server.metrics import METRICS, Metrics
from opsgraph.settings import Settings
from policies import approvals

MAX_BODY = 64 * 1024
ALERTMANAGER_PATH = "/api/alerts/alertmanager"
PAGES = {"": "dashboard.html", "chat": "chat.html"}
STATIC = {"app.js": "application/javascript", "chat.js": "application/javascript", "style.css": "text/css",
          "common.js": "application/javascript"}


# -- request bodies ------------------------------------------------------------------------------
class AskRequest(BaseModel):
    """A chat question."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)


class DecisionRequest(BaseModel):
    """Why an approval is approved or denied (optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=1000)


# -- middleware -------------------------------------------------------------------------------------
class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (or the route's own limit in ``per_path``) with 413 before any
    handler reads them."""

    def __init__(self, app: Any, limit: int = MAX_BODY, per_path: dict[str, int] | None = None) -> None:
        self.app, self.default, self.per_path = app, limit, dict(per_path or {})

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.per_path.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _plain(send, 400, "invalid Content-Length header")
            if int(declared) > limit:
                return await _plain(send, 413, f"request body of {int(declared)} bytes is over the {limit} byte limit")
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await _plain(send, 413, f"request body is over the {limit} byte limit")
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _plain(send: Callable, status: int, detail: str) -> None:
    import json

    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


# -- serialisation ----------------------------------------------------------------------------------
def row_dict(row: Any) -> dict[str, Any]:
    """The columns of an ORM row as a dict."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


# -- auth -------------------------------------------------------------------------------------------
def identity(request: Request) -> Identity:
    """The caller of an API route, from its bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token (Authorization: Bearer TOKEN; `opsgraph token create`)",
                            headers={"WWW-Authenticate": "Bearer"})
    found = request.app.state.tokens.identify(token.strip())
    if found is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return found

def needs(role: str) -> Callable[[Identity], Identity]:
    """A dependency that admits callers holding ``role`` or a higher one."""
    def check(who: Annotated[Identity, Depends(identity)]) -> Identity:
        if not who.can(role):
            raise HTTPException(403, f"{who.user} has roles {who.roles}; this needs {role!r} or above")
        return who

    return check

Viewer = Annotated[Identity, Depends(needs("viewer"))]
Operator = Annotated[Identity, Depends(needs("operator"))]
Approver = Annotated[Identity, Depends(needs("approver"))]


# -- the app ----------------------------------------------------------------------------------------
def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None,
               runtime_factory: Callable[[], Runtime] | None = None, metrics: Metrics = METRICS,
               slack: Any = None, llm: Any = "env") -> FastAPI:
    """The OpsGraph API. Pass a running ``runtime`` (shared with the loop), a ``runtime_factory``, or ``settings``.

    ``slack`` is an ``opsgraph.integrations.slack.SlackIntegration`` to mount at ``/slack/events``
    (default: none). ``llm`` is an ``agents.llm.LLM``, None, or "env" to configure it from OPSGRAPH_LLM_*.
    """
    settings = settings or (runtime.settings if runtime else Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or (runtime_factory() if runtime_factory else Runtime(settings))
        model = llm
        if model == "env":
            from agents.llm import llm_from_env

            model = llm_from_env()
        app.state.runtime = rt
        app.state.worlds = WorldReader(settings.worlds_dir)
        app.state.chat = ChatEngine(rt.store, app.state.worlds, memory=rt.memory, llm=model)
        app.state.tokens = TokenBook(tokens_path(settings.home))
        try:
            yield
        finally:
            if owned:
                rt.close()

    app = FastAPI(title="OpsGraph", version="0.1.0", lifespan=lifespan,
                  description="Keeps AI/ML services healthy: incidents, approvals, chat, health and metrics.")
    app.add_middleware(BodyLimit, per_path={ALERTMANAGER_PATH: alertmanager.MAX_BODY})

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            metrics.request(request.method, getattr(route, "path", "unmatched"), status, time.perf_counter() - started)

    def rt(request: Request) -> Runtime:
        return request.app.state.runtime

    # -- pages
    def page(name: str) -> str:
        return resources.files("opsgraph.server.pages").joinpath(name).read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> str:
        return page(PAGES[""])

    @app.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    def chat_page() -> str:
        return page(PAGES["chat"])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(page(name), media_type=STATIC[name])

    # -- health
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the store and the checkpointer answer."""
        checks: dict[str, str] = {}
        runtime_ = getattr(request.app.state, "runtime", None)
        try:
            with runtime_.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["store"] = "ok"
            runtime_.graph.get_state({"configurable": {"thread_id": "readyz"}})
            checks["checkpointer"] = "ok"
        except Exception as exc:  # readiness reports any failure, it does not raise
            checks["error"] = f"{type(exc).__name__}: {exc}"
        ready = "error" not in checks
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"])
    def prometheus(request: Request) -> PlainTextResponse:
        """OpsGraph's own metrics in the Prometheus text format."""
        return PlainTextResponse(metrics.render(rt(request).store), media_type="text/plain; version=0.0.4")

    # -- services and incidents
    @app.get("/api/services", tags=["services"])
    def services(request: Request, _who: Viewer) -> list[dict[str, Any]]:
        """Every monitored service: health, active incident, latest metrics (a tool call) and recent series."""
        out = service_health(rt(request).store, request.app.state.worlds)
        return [{k: v for k, v in entry.items() if k != "result"} for entry in out]

    @app.get("/api/incidents", tags=["incidents"])
    def incidents(request: Request, _who: Viewer,
                  status: Annotated[str | None, Query(max_length=32)] = None,
                  service: Annotated[str | None, Query(max_length=200)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
        """Incidents, newest first; ``status=open`` means open, awaiting approval or executing."""
        store = rt(request).store
        rows = store.incidents(status=status, service=service)[:limit]
        return [{**row_dict(r), "pending_approvals": [a.id for a in store.approvals(status="pending", incident_id=r.id)]}
                for r in rows]

    @app.get("/api/incidents/{incident_id}", tags=["incidents"])
    def incident(incident_id: str, request: Request, _who: Viewer) -> dict[str, Any]:
        """One incident: findings, diagnosis, actions, approvals, audit, tool calls, timeline and metric series."""
        runtime_ = rt(request)
        store = runtime_.store
        row = store.incident(incident_id)
        if row is None:
            raise HTTPException(404, f"unknown incident {incident_id!r}")
        state = runtime_.graph.get_state({"configurable": {"thread_id": incident_id}})
        return {**row_dict(row),
                "findings": [row_dict(f) for f in store.findings(incident_id)],
                "actions": [row_dict(a) for a in store.actions(incident_id)],
                "approvals": [row_dict(a) for a in store.approvals(incident_id=incident_id)],
                "audit": [row_dict(e) for e in store.audit_entries(incident_id)],
                "tool_calls": [row_dict(t) for t in store.tool_calls(incident_id)],
                "timeline": list((state.values or {}).get("timeline", [])),
                "series": _series_around(request, row)}

    def _series_around(request: Request, row: Any) -> dict[str, Any]:
        """Key metrics of the incident's service from an hour before its first signal until now (at most a day)."""
        service = next((s for s in rt(request).store.services() if s.name == row.service), None)
        if service is None or not row.source_id:
            return {}
        try:
            source, _ = request.app.state.worlds.open(row.source_id)
            start = (row.first_signal_at or row.opened_at) - timedelta(hours=1)
            minutes = min(24 * 60.0, max(60.0, (source.now() - start).total_seconds() / 60.0))
            return service_metrics(source, service, minutes=minutes)[1]
        except (KeyError, ValueError):
            return {}

    # -- approvals
    @app.get("/api/approvals", tags=["approvals"])
    def approval_list(request: Request, _who: Viewer,
                      status: Annotated[str, Query(pattern="^(pending|approved|rejected|expired|invalidated|all)$")]
                      = "pending") -> list[dict[str, Any]]:
        """Approval requests (pending by default), each with the exact action it binds."""
        store = rt(request).store
        out = []
        for row in store.approvals(status=None if status == "all" else status):
            action = store.action(row.action_id)
            out.append({**row_dict(row), "action": row_dict(action) if action else None})
        return out

    def decide(request: Request, approval_id: str, who: Identity, approve: bool, body: DecisionRequest | None) -> dict:
        store = rt(request).store
        if store.approval(approval_id) is None:
            raise HTTPException(404, f"unknown approval {approval_id!r}")
        try:
            row = approvals.decide(store, approval_id, user=who.user, roles=set(who.roles), approve=approve,
                                   now=datetime.now(UTC), reason=(body.reason if body else "") or "via API")
        except approvals.ApprovalError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {**row_dict(row), "note": "decision recorded; the loop resumes the incident at its next step"}

    @app.post("/api/approvals/{approval_id}/approve", tags=["approvals"])
    def approve(approval_id: str, request: Request, who: Approver, body: DecisionRequest | None = None) -> dict:
        """Approve a pending action (role approver or admin); the loop resumes the incident."""
        return decide(request, approval_id, who, True, body)

    @app.post("/api/approvals/{approval_id}/deny", tags=["approvals"])
    def deny(approval_id: str, request: Request, who: Approver, body: DecisionRequest | None = None) -> dict:
        """Deny a pending action (role approver or admin); the incident escalates."""
        return decide(request, approval_id, who, False, body)

    # -- alerts in
    @app.post(ALERTMANAGER_PATH, tags=["alerts"], status_code=202)
    def alertmanager_webhook(body: alertmanager.AlertmanagerPayload, request: Request, who: Operator) -> dict[str, Any]:
        """Alertmanager webhook (payload version 4; role operator, e.g. ``http_config.authorization``).

        Each alert is mapped to a service (labels.service, else labels.job), its annotations screened as
        data, and stored as a signal citing a tool call; a firing alert of a monitored service triggers a
        monitor pass of that service at the loop's next step. Unknown services are kept and reported.
        """
        store = rt(request).store
        return alertmanager.ingest(store, body, known=[s.name for s in store.services()],
                                   actor=f"alertmanager:{who.user}")

    @app.get("/api/alerts", tags=["alerts"])
    def alert_signals(request: Request, _who: Viewer,
                      state: Annotated[str | None, Query(pattern="^(pending|checked|unmatched|resolved)$")] = None,
                      service: Annotated[str | None, Query(max_length=200)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
        """Alert signals received from Alertmanager, newest first, with what the loop did with each."""
        rows = alertmanager.signals(rt(request).store, state=state, service=service, limit=limit)
        return [alertmanager.signal_dict(r) for r in rows]

    # -- chat
    @app.post("/api/ask", tags=["chat"])
    def ask(body: AskRequest, request: Request, who: Viewer) -> Answer:
        """Ask the on-call chat; decisions in it ('approve apr-…') need the approver role."""
        return request.app.state.chat.ask(body.question, user=who.user, roles=set(who.roles))

    if slack is not None:
        slack.mount(app)
    return app
