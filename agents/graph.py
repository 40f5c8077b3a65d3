"""The incident graph: monitor → triage → diagnose → remediate → compliance → (approval) → execute → verify → undo/record."""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.compliance import await_approval_node, compliance_node
from agents.deps import AgentDeps
from agents.diagnose import diagnose_node
from agents.execute import execute_node, undo_node
from agents.monitor import scan
from agents.record import record_node
from agents.remediate import remediate_node
from agents.state import IncidentState, PlanStep
from agents.triage import triage_node
from agents.verify import verify_node
from agents.common import event, service_info

MAX_ATTEMPTS = 3
NODES = ("monitor", "triage", "diagnose", "remediate", "compliance", "await_approval", "execute", "verify",
         "undo", "record")


def monitor_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Run every check on the service's latest window."""
    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    result = scan(source, info, deps.settings)
    update: dict[str, Any] = {"findings": [f.model_dump(mode="json") for f in result.findings],
                              "tool_results": [r.model_dump(mode="json") for r in result.results],
                              "observed_at": source.now().isoformat()}
    if result.findings:
        update["timeline"] = [event("detect", f.summary, kind=f.kind, tool_call_id=f.tool_call_id)
                              for f in result.findings]
    return update


def _steps(state: IncidentState) -> list[PlanStep]:
    return [PlanStep(**s) for s in state.get("plan", [])]


def after_monitor(state: IncidentState) -> str:
    """Findings go to triage; a quiet service ends the run."""
    return "triage" if state.get("findings") else END


def after_triage(state: IncidentState) -> str:
    """Only a new incident is worked; attached findings join the open one."""
    return "diagnose" if state.get("triage") == "new" else END


def after_remediate(state: IncidentState) -> str:
    """An empty plan escalates."""
    return "compliance" if state.get("plan") else "record"


def after_gate(state: IncidentState) -> str:
    """Wait for humans while any approval is pending, execute what is approved; a denied plan moves on.

    A denial says "not this action", not "not this incident": the next hypothesis gets its turn
    (through ``undo``, which has nothing to undo here but advances the hypothesis), then escalation.
    """
    steps = _steps(state)
    if any(s.status == "pending_approval" for s in steps):
        return "await_approval"
    if any(s.status == "approved" for s in steps):
        return "execute"
    return "undo" if steps and _untried_left(state, state.get("hypothesis_index", 0) + 1) else "record"


def after_execute(state: IncidentState) -> str:
    """Verify when something changed the platform; otherwise close."""
    changed = [s for s in _steps(state) if s.status == "executed" and s.action["name"] != "escalate"]
    return "verify" if changed else "record"


def after_verify(state: IncidentState) -> str:
    """Recovered closes; a partial fix goes another round; otherwise undo."""
    verification = state.get("verification", {})
    if verification.get("recovered"):
        return "record"
    return "remediate" if verification.get("partial") else "undo"


def _untried_left(state: IncidentState, index: int) -> bool:
    """Whether hypothesis ``index`` exists and is within the MAX_ATTEMPTS budget."""
    return index < min(MAX_ATTEMPTS, len(state.get("diagnosis", {}).get("hypotheses", [])))


def after_undo(state: IncidentState) -> str:
    """Try the next hypothesis, up to MAX_ATTEMPTS, then escalate."""
    return "remediate" if _untried_left(state, state.get("hypothesis_index", 0)) else "record"


def build_graph(deps: AgentDeps, *, checkpointer: Any) -> Any:
    """Compile the incident graph around ``deps``; one thread per incident (thread_id = incident id)."""
    graph = StateGraph(IncidentState)
    nodes = {"monitor": monitor_node, "triage": triage_node, "diagnose": diagnose_node,
             "remediate": remediate_node, "compliance": compliance_node, "await_approval": await_approval_node,
             "execute": execute_node, "verify": verify_node, "undo": undo_node, "record": record_node}
    for name, node in nodes.items():
        graph.add_node(name, partial(node, deps=deps))
    graph.add_edge(START, "monitor")
    graph.add_conditional_edges("monitor", after_monitor, ["triage", END])
    graph.add_conditional_edges("triage", after_triage, ["diagnose", END])
    graph.add_edge("diagnose", "remediate")
    graph.add_conditional_edges("remediate", after_remediate, ["compliance", "record"])
    graph.add_conditional_edges("compliance", after_gate, ["await_approval", "execute", "undo", "record"])
    graph.add_conditional_edges("await_approval", after_gate, ["await_approval", "execute", "undo", "record"])
    graph.add_conditional_edges("execute", after_execute, ["verify", "record"])
    graph.add_conditional_edges("verify", after_verify, ["record", "undo", "remediate"])
    graph.add_conditional_edges("undo", after_undo, ["remediate", "record"])
    graph.add_edge("record", END)
    return graph.compile(checkpointer=checkpointer)
