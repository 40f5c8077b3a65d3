"""On-call chat engine: answers an engineer's questions from the store, the metric sources and memory.

Deterministic: intents are found by keywords and regular expressions, answers are built from
stored incidents and fresh tool calls, and every number in an answer cites the tool call that
produced it (``[tc-...]``); those calls are stored so a citation can be looked up. The user's
text is data: it selects an intent and names ids or services, nothing in it is executed. An
optional LLM (``agents.llm``) may phrase answers over the same tools; it never decides approvals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from agents.common import save_tool_calls
from memory.models import FindingRow, IncidentRow, ServiceRow
from memory.store import ACTIVE_STATUSES, Store
from policies import approvals
from policies.roles import has_role
from tools.causal_rank import rank_root_causes
from tools.forecast import time_to_breach
from tools.results import ToolResult, insufficient, tool_result

MAX_QUESTION = 2000
APPROVAL_ID = re.compile(r"\bapr-[0-9a-f]{6,32}\b")
INCIDENT_ID = re.compile(r"\binc-\d{8}-[0-9a-f]{6,16}\b")
CITATION = re.compile(r"\btc-[A-Za-z0-9_]+-[0-9a-f]{6,}\b")
ERROR_RATE_SLO = 0.02
UTIL_LIMIT = 0.9
HISTORY_MIN = 240.0
HORIZON_TICKS = 12
SEVERITY_STRENGTH = {"info": 0.5, "warning": 1.0, "critical": 2.0}
"""How strongly a finding of each severity counts when active incidents are ranked as causes of each other."""
INTENTS = ("decide", "similar", "explain", "rollback", "pending", "forecast", "service", "wrong", "help")

_KEYWORDS: list[tuple[str, re.Pattern[str]]] = [
    ("similar", re.compile(r"\b(similar|alike|happened before|seen (this|it) before|past incidents?|history)\b", re.I)),
    ("rollback", re.compile(r"\b(roll(ed)?[ -]?back|rollback|revert(ed)?)\b", re.I)),
    ("pending", re.compile(r"\b(pending|waiting|approvals?|to approve|my approval)\b", re.I)),
    ("forecast", re.compile(r"\b(breach|forecast|predict|next|will|going to|capacity|trend)\b", re.I)),
    ("wrong", re.compile(r"\b(wrong|broken|status|health|healthy|going on|problem|issues?|incidents?|down|alert)", re.I)),
    ("help", re.compile(r"^\s*(help|\?|what can you do)", re.I)),
]


class Sources(Protocol):
    """Anything that opens a metric source by id (the simulator registry, or a reader of saved worlds)."""

    def open(self, source_id: str) -> tuple[Any, Any]: ...


class Answer(BaseModel):
    """A chat reply: the text, the tool calls it cites, and what it did."""

    intent: str
    text: str
    citations: list[str] = Field(default_factory=list)
    decided: list[str] = Field(default_factory=list)
    incidents: list[str] = Field(default_factory=list)
    source: str = "deterministic"  # deterministic | llm


class Intent(BaseModel):
    """What a question asks for, and the ids or service it names."""

    name: str
    approval_id: str | None = None
    incident_id: str | None = None
    service: str | None = None
    approve: bool | None = None


def parse(text: str, services: list[str]) -> Intent:
    """The intent of a question, by keywords: decisions first, then ids, then topics."""
    text = text[:MAX_QUESTION]
    approval = APPROVAL_ID.search(text)
    incident = INCIDENT_ID.search(text)
    service = next((s for s in sorted(services, key=len, reverse=True)
                    if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text, re.I)), None)
    verb = re.search(r"\b(approve|approved|deny|denied|reject)\b", text, re.I)
    if verb and approval:
        return Intent(name="decide", approval_id=approval.group(), approve=verb.group(1).lower().startswith("approve"))
    found = {name for name, pattern in _KEYWORDS if pattern.search(text)}
    if "similar" in found:
        return Intent(name="similar", incident_id=incident and incident.group(), service=service)
    if incident:
        return Intent(name="explain", incident_id=incident.group())
    if verb and not approval:
        return Intent(name="pending")  # "approve it": say what is pending and how to name it
    for name in ("rollback", "pending", "forecast"):
        if name in found:
            return Intent(name=name, service=service)
    if service:
        return Intent(name="service", service=service)
    if "wrong" in found:
        return Intent(name="wrong")
    return Intent(name="help")


def citations(text: str) -> list[str]:
    """Tool call ids cited in a text, in order, once each."""
    return list(dict.fromkeys(CITATION.findall(text)))


# -- service health (shared with the HTTP API) ------------------------------------------------------
def service_metrics(source: Any, row: ServiceRow, *, minutes: float = HISTORY_MIN) -> tuple[ToolResult, dict[str, Any]]:
    """Latest key metrics of a service as a tool call, and its per-tick series for plots."""
    slo = float(row.info.get("slo_p95_ms", 250.0))
    window = source.window(row.name, minutes)
    series = {name: [float(v) for v in values] for name, values in window.metrics.items()}
    if not series.get("minute"):
        return insufficient("service_metrics", "no ticks in the window", inputs={"service": row.name}), {}
    last_minute = series["minute"][-1]
    times = [(window.end - timedelta(minutes=last_minute - m)).isoformat() for m in series["minute"]]
    latest = {k: v[-1] for k, v in series.items() if k != "minute" and v}
    figures = {**latest, "slo_p95_ms": slo, "error_rate_slo": ERROR_RATE_SLO, "at": window.end.isoformat()}
    result = tool_result("service_metrics", inputs={"service": row.name, "window_min": minutes}, figures=figures)
    return result, {"times": times, **{k: v for k, v in series.items() if k != "minute"}}


def service_health(store: Store, sources: Sources, *, minutes: float = HISTORY_MIN) -> list[dict[str, Any]]:
    """Each known service: health (healthy | breaching | degraded | unknown), active incident, metrics, series."""
    out = []
    for row in store.services():
        entry: dict[str, Any] = {"name": row.name, "kind": row.kind, "environment": row.environment, "tier": row.tier,
                                 "source_id": row.source_id, "info": row.info, "incident": None}
        incident = store.open_incident_for(row.name, row.source_id)
        if incident is not None:
            entry["incident"] = {"id": incident.id, "status": incident.status, "title": incident.title,
                                 "severity": incident.severity,
                                 "first_signal_at": _iso(incident.first_signal_at or incident.opened_at)}
        try:
            source, _ = sources.open(row.source_id or "")
            result, series = service_metrics(source, row, minutes=minutes)
        except (KeyError, ValueError) as exc:
            entry.update(health="unknown", reason=str(exc), metrics=None, series={})
            out.append(entry)
            continue
        entry["metrics"], entry["series"] = result.model_dump(mode="json"), series
        breaching = result.ok and (result.figure("p95_ms", 0) > result.figure("slo_p95_ms")
                                   or result.figure("error_rate", 0) > ERROR_RATE_SLO)
        entry["health"] = "degraded" if incident else ("breaching" if breaching else "healthy")
        entry["result"] = result
        out.append(entry)
    return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _metric_line(result: ToolResult) -> str:
    if not result.ok:
        return f"no recent data ({result.message}) [{result.tool_call_id}]"
    parts = [f"p95 {result.cite('p95_ms', '{:.0f}')} ms (SLO {result.cite('slo_p95_ms', '{:.0f}')} ms)",
             f"error rate {result.cite('error_rate', '{:.2%}')}", f"{result.cite('rps', '{:.1f}')} req/s"]
    util = result.figure("gpu_util") or 0.0
    parts.append(f"GPU {result.cite('gpu_util', '{:.0%}')}" if util > 0 else f"CPU {result.cite('cpu_util', '{:.0%}')}")
    return ", ".join(parts)


# -- the engine ----------------------------------------------------------------------------------------
class ChatEngine:
    """Answers questions; approves and denies by recording decisions (the loop resumes the incident)."""

    def __init__(self, store: Store, sources: Sources, *, memory: Any = None, llm: Any = None) -> None:
        self.store = store
        self.sources = sources
        self.memory = memory
        self.llm = llm

    # public
    def services(self) -> list[str]:
        """Service names the chat knows: the fleet and any service with an incident."""
        names = {row.name for row in self.store.services()} | {i.service for i in self.store.incidents()}
        return sorted(names)

    def ask(self, text: str, *, user: str, roles: set[str]) -> Answer:
        """Answer one question (at most MAX_QUESTION characters are read)."""
        text = (text or "").strip()[:MAX_QUESTION]
        intent = parse(text, self.services())
        if intent.name == "decide":  # a decision is never left to a model
            return self.decide(intent.approval_id or "", approve=bool(intent.approve), user=user, roles=roles)
        answer = self.answer(intent, user=user, roles=roles)
        if self.llm is not None:
            return self.llm.chat(text, fallback=answer, tools=self.tools(user=user, roles=roles))
        return answer

    def answer(self, intent: Intent, *, user: str, roles: set[str]) -> Answer:
        """The deterministic answer to a parsed intent."""
        handlers: dict[str, Callable[[], Answer]] = {
            "similar": lambda: self.similar(incident_id=intent.incident_id, service=intent.service),
            "explain": lambda: self.explain(intent.incident_id or ""),
            "rollback": lambda: self.why_rollback(intent.service),
            "pending": lambda: self.pending(user=user, roles=roles),
            "forecast": lambda: self.forecast(intent.service),
            "service": lambda: self.service(intent.service or ""),
            "wrong": self.what_is_wrong,
            "help": self.help,
        }
        return handlers[intent.name]()

    def tools(self, *, user: str, roles: set[str]) -> dict[str, Callable[..., Answer]]:
        """The read-only tools an LLM may call: the same answers, by name (no decisions)."""
        return {"what_is_wrong": self.what_is_wrong, "service_status": self.service, "explain_incident": self.explain,
                "pending_approvals": lambda: self.pending(user=user, roles=roles),
                "similar_incidents": self.similar, "forecast_breaches": self.forecast,
                "why_rollback": self.why_rollback}

    # answers
    def _reply(self, intent: str, lines: list[str], results: list[ToolResult] = (), **extra: Any) -> Answer:
        if results:
            save_tool_calls(self.store, None, [r.model_dump(mode="json") for r in results])  # type: ignore[arg-type]
        text = "\n".join(lines)
        return Answer(intent=intent, text=text, citations=citations(text), **extra)

    def help(self) -> Answer:
        return self._reply("help", [
            "Ask me: what is wrong? · what happened to SERVICE? · explain INCIDENT_ID · why did you roll back? ·",
            "what is pending my approval? · approve APPROVAL_ID / deny APPROVAL_ID · show similar past incidents ·",
            "what will breach next?"])

    def _health(self) -> list[dict[str, Any]]:
        return service_health(self.store, self.sources)

    def what_is_wrong(self) -> Answer:
        """Active incidents with their cited findings, pending approvals, and services breaching without one."""
        active = [i for i in self.store.incidents() if i.status in ACTIVE_STATUSES]
        lines: list[str] = []
        results: list[ToolResult] = []
        findings: list[FindingRow] = []
        for inc in active:
            lines.append(f"● {inc.id} on {inc.service}: {inc.status} — {inc.title}")
            own = self.store.findings(inc.id)
            findings += own
            lines += [f"    {f.summary}" for f in own]
            for row in self.store.approvals(status="pending", incident_id=inc.id):
                lines.append(f"    waiting for approval {row.id}: {self._action_label(row.action_id)} "
                             f"(say 'approve {row.id}' or 'deny {row.id}')")
        if len(active) > 1:
            origin = self.fleet_origin(findings)
            if origin.ok:
                results.append(origin)
                ranked = origin.figure("ranking")[:3]
                lines.append("Where it likely started (active incidents' findings ranked over the call graph, onset "
                             "and severity): " + "; ".join(
                                 f"{c['component']} ({c['layer']}) {c['score']:.2f} [{origin.tool_call_id}]"
                                 for c in ranked))
        for entry in self._health():
            if entry.get("result") is not None and entry["health"] == "breaching":
                results.append(entry["result"])
                lines.append(f"● {entry['name']} breaches an SLO with no incident yet: {_metric_line(entry['result'])}")
        if not lines:
            lines.append("Nothing is wrong right now: no open incident, every service within its SLOs.")
            for entry in self._health():
                if entry.get("result") is not None:
                    results.append(entry["result"])
                    lines.append(f"  {entry['name']}: {_metric_line(entry['result'])}")
        return self._reply("wrong", lines, results, incidents=[i.id for i in active])

    def fleet_origin(self, findings: list[FindingRow]) -> ToolResult:
        """Rank active incidents' findings as causes of one another (call graph, onset, severity)."""
        depends = {row.name: list((row.info or {}).get("depends_on") or []) for row in self.store.services()}
        findings = [f for f in findings if f.observed_at is not None]
        if not findings:
            return insufficient("rank_root_causes", "the active incidents have no dated findings")
        first = min(f.observed_at for f in findings)
        signals = [{"service": f.service, "layer": f.layer, "component": f"{f.service}.{f.kind}",
                    "onset_min": (f.observed_at - first).total_seconds() / 60.0,
                    "strength": SEVERITY_STRENGTH.get(f.severity, 1.0)} for f in findings]
        return rank_root_causes(signals, depends_on=depends)

    def _action_label(self, action_id: str) -> str:
        action = self.store.action(action_id)
        return f"{action.name} on {action.service} with {action.params}" if action else action_id

    def service(self, service: str) -> Answer:
        """A service's current metrics and what happened to it."""
        incidents = self.store.incidents(service=service)
        row = next((r for r in self.store.services() if r.name == service), None)
        if row is None and not incidents:
            return self._reply("service", [f"I know no service {service!r}; known: {', '.join(self.services()) or 'none'}."])
        lines = [f"{service}:"]
        results: list[ToolResult] = []
        if row is not None:
            try:
                source, _ = self.sources.open(row.source_id or "")
                result, _series = service_metrics(source, row)
                results.append(result)
                lines.append(f"  now: {_metric_line(result)}")
            except (KeyError, ValueError) as exc:
                lines.append(f"  no live data: {exc}")
        if not incidents:
            lines.append("  no incident on record.")
        for inc in incidents[:5]:
            lines.append(f"  {inc.id} ({inc.status}) opened {inc.opened_at:%Y-%m-%d %H:%M} — {inc.title}")
            lines += self._cause_lines(inc)
        return self._reply("service", lines, results, incidents=[i.id for i in incidents[:5]])

    def _cause_lines(self, inc: IncidentRow) -> list[str]:
        lines = []
        if inc.root_cause:
            lines.append(f"    root cause: {inc.root_cause} ({inc.layer} layer)")
        for action in self.store.actions(inc.id):
            tc = action.result.get("tool_call_id")
            detail = action.result.get("detail") or action.result.get("reason") or ""
            cite = f" [{tc}]" if tc and detail else ""
            lines.append(f"    action {action.name} {action.params}: {action.status} "
                         f"(policy {action.decision or '-'}, rule {action.rule_id or '-'}){': ' + detail if detail else ''}{cite}")
        return lines

    def explain(self, incident_id: str) -> Answer:
        """Why: the findings, the ranked hypotheses with their evidence, the actions and the outcome."""
        inc = self.store.incident(incident_id)
        if inc is None:
            return self._reply("explain", [f"I find no incident {incident_id!r}."])
        lines = [f"{inc.id} on {inc.service}: {inc.status} — {inc.title}", "What fired:"]
        lines += [f"  {f.summary}" for f in self.store.findings(inc.id)]
        hypotheses = inc.diagnosis.get("hypotheses", [])
        if hypotheses:
            lines.append("Diagnosis (ranked):")
            for rank, h in enumerate(hypotheses[:3], start=1):
                evidence = ", ".join(h.get("evidence", []))
                lines.append(f"  #{rank} {h['cause']} — {h['component']} ({h['layer']} layer); evidence [{evidence}]"
                             if evidence else f"  #{rank} {h['cause']} — {h['component']} ({h['layer']} layer)")
        lines.append("What was done:")
        lines += self._cause_lines(inc) or ["    nothing yet"]
        for row in self.store.approvals(incident_id=inc.id):
            lines.append(f"  approval {row.id}: {row.status}" + (f" by {row.decided_by}" if row.decided_by else ""))
        answer = self._reply("explain", lines, incidents=[inc.id])
        if self.llm is not None:
            answer = self.llm.narrate(answer)
        return answer

    def why_rollback(self, service: str | None = None) -> Answer:
        """Explain the latest incident in which a model was rolled back."""
        incidents = self.store.incidents(service=service)
        for done in (("executed", "undone"), None):  # a rollback that happened first, then one only planned
            for inc in incidents:
                if any(a.name == "rollback_model" and (done is None or a.status in done)
                       for a in self.store.actions(inc.id)):
                    return self.explain(inc.id).model_copy(update={"intent": "rollback"})
        return self._reply("rollback", ["No incident on record rolled back a model" + (f" of {service}." if service else ".")])

    def pending(self, *, user: str, roles: set[str]) -> Answer:
        """Pending approvals, marking which ones this user may decide."""
        rows = self.store.approvals(status="pending")
        if not rows:
            return self._reply("pending", ["Nothing is waiting for approval."])
        lines = []
        for row in rows:
            mine = has_role(roles, row.required_role)
            action = self.store.action(row.action_id)
            risk = action.risk if action else "?"
            lines.append(f"● {row.id}: {self._action_label(row.action_id)} — risk {risk}, rule {row.rule_id}, "
                         f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC, incident {row.incident_id}")
            lines.append(f"    {row.summary}")
            lines.append(f"    {user} may decide it: say 'approve {row.id}' or 'deny {row.id}'" if mine else
                         f"    needs role {row.required_role}; {user} has {', '.join(sorted(roles)) or 'none'}")
        return self._reply("pending", lines, incidents=sorted({r.incident_id for r in rows}))

    def decide(self, approval_id: str, *, approve: bool, user: str, roles: set[str], reason: str = "via chat") -> Answer:
        """Record a decision; the loop that owns the incident's world resumes it."""
        try:
            row = approvals.decide(self.store, approval_id, user=user, roles=roles, approve=approve,
                                   now=datetime.now(UTC), reason=reason)
        except approvals.ApprovalError as exc:
            return self._reply("decide", [f"Not done: {exc}"])
        label = self._action_label(row.action_id)
        if row.status == "pending":
            text = f"Recorded {user}'s approval of {row.id} ({label}); it needs more approvers."
        else:
            verb = "Approved" if row.status == "approved" else "Denied"
            text = (f"{verb} {row.id} ({label}) as {user}. The background loop resumes incident "
                    f"{row.incident_id} at its next step.")
        return self._reply("decide", [text], decided=[row.id], incidents=[row.incident_id])

    def similar(self, incident_id: str | None = None, service: str | None = None) -> Answer:
        """Past incidents most like this one (vector memory), with their verified outcomes."""
        if self.memory is None:
            return self._reply("similar", ["Incident memory is switched off here (OPSGRAPH_MEMORY=0)."])
        inc = self.store.incident(incident_id) if incident_id else None
        if inc is None:
            active = [i for i in self.store.incidents(service=service) if i.status in ACTIVE_STATUSES]
            inc = active[0] if active else next(iter(self.store.incidents(service=service)), None)
        if inc is None:
            return self._reply("similar", ["There is no incident to compare with yet."])
        query = " ".join([inc.title, *(f.summary for f in self.store.findings(inc.id))])
        hits = self.memory.similar(query, k=3, exclude_id=inc.id)
        result = tool_result("memory_similar", inputs={"incident_id": inc.id, "k": 3},
                             figures={h.incident_id: h.similarity for h in hits})
        if not hits:
            return self._reply("similar", [f"No past incident resembles {inc.id} yet."], [result], incidents=[inc.id])
        lines = [f"Past incidents like {inc.id} ({inc.service}):"]
        for h in hits:
            lines.append(f"  {h.incident_id} on {h.service}: {h.root_cause or '?'} ({h.layer or '?'} layer), "
                         f"actions {', '.join(h.actions) or 'none'}, outcome {h.outcome} — similarity "
                         f"{result.cite(h.incident_id, '{:.2f}')}")
        return self._reply("similar", lines, [result], incidents=[inc.id, *(h.incident_id for h in hits)])

    def forecast(self, service: str | None = None) -> Answer:
        """Time to breach of each service's key metrics (Holt-Winters on the recent ticks), soonest first."""
        results: list[ToolResult] = []
        rows: list[tuple[float, str]] = []
        for row in self.store.services():
            if service and row.name != service:
                continue
            try:
                source, _ = self.sources.open(row.source_id or "")
                window = source.window(row.name, HISTORY_MIN)
            except (KeyError, ValueError):
                continue
            tick = float(row.info.get("tick_min", 0) or 0) or _tick_of(window.metrics.get("minute"))
            limits = {"p95_ms": float(row.info.get("slo_p95_ms", 250.0)), "error_rate": ERROR_RATE_SLO,
                      "gpu_util": UTIL_LIMIT, "cpu_util": UTIL_LIMIT, "mem_util": UTIL_LIMIT}
            for metric, limit in limits.items():
                series = window.metrics.get(metric)
                if series is None or len(series) == 0 or not series.any():
                    continue
                result = time_to_breach(series, limit, 0, HORIZON_TICKS, direction="above", paths=500, seed=0)
                result = result.model_copy(update={"inputs": {**result.inputs, "service": row.name, "metric": metric,
                                                              "tick_min": tick}})
                results.append(result)
                if not result.ok:
                    continue
                if result.figure("already_breached"):
                    rows.append((0.0, f"  {row.name} {metric} is already above {result.cite('threshold', '{:g}')}"))
                elif result.figure("breach_expected") or result.figure("probability", 0) >= 0.5:
                    steps = result.figure("steps_to_breach") or result.figure("median_steps_to_breach") or HORIZON_TICKS
                    rows.append((float(steps), f"  {row.name} {metric} forecast to cross "
                                 f"{result.cite('threshold', '{:g}')} in {result.cite('steps_to_breach', '{}')} "
                                 f"ticks of {tick:g} min, probability {result.cite('probability', '{:.0%}')}"))
        if not results:
            return self._reply("forecast", ["No metric series to forecast yet."])
        horizon = f"the next {results[0].cite('horizon', '{}')} ticks" if results[0].ok else "the forecast horizon"
        if not rows:
            top = max((r for r in results if r.ok), key=lambda r: r.figure("probability", 0), default=None)
            lines = [f"Nothing is forecast to breach in {horizon}."]
            if top is not None:
                lines.append(f"  closest: {top.inputs['service']} {top.inputs['metric']}, probability "
                             f"{top.cite('probability', '{:.0%}')} of crossing {top.cite('threshold', '{:g}')}")
            return self._reply("forecast", lines, results)
        lines = [f"Forecast breaches in {horizon}, soonest first:"] + [text for _, text in sorted(rows)]
        return self._reply("forecast", lines, results)


def _tick_of(minutes: Any) -> float:
    """Minutes between ticks of a series (5 when it cannot tell)."""
    if minutes is None or len(minutes) < 2:
        return 5.0
    return float(minutes[-1] - minutes[-2])
