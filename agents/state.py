"""Typed state of one incident's thread, and the pydantic records that travel in it."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, Field

from tools.observations import Layer

Severity = Literal["info", "warning", "critical"]


class Finding(BaseModel):
    """A signal raised by the monitor; its numbers come from the cited tool call."""

    id: str = Field(default_factory=lambda: f"fnd-{uuid.uuid4().hex[:10]}")
    service: str
    kind: str
    layer: Layer
    severity: Severity = "warning"
    summary: str
    tool_call_id: str
    tool: str
    figures: dict[str, Any] = Field(default_factory=dict)
    observed_at: str


class Hypothesis(BaseModel):
    """One candidate root cause, ranked, with the tool calls that support it."""

    id: str = Field(default_factory=lambda: f"hyp-{uuid.uuid4().hex[:8]}")
    layer: Layer
    component: str
    cause: str
    score: float
    evidence: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    explanation: str = ""


class Diagnosis(BaseModel):
    """Ranked hypotheses for one incident, plus similar past incidents."""

    hypotheses: list[Hypothesis]
    confidence: float
    similar_incidents: list[dict[str, Any]] = Field(default_factory=list)
    memory_note: str = ""


class PlanStep(BaseModel):
    """A planned action with the policy decision and, later, what happened to it."""

    action: dict[str, Any]
    risk: str = ""
    outcome: str = ""  # auto | approval | deny
    rule_id: str = ""
    reason: str = ""
    approval_id: str | None = None
    approved_by: str | None = None
    status: str = "planned"  # planned | pending_approval | approved | denied | executed | failed | undone
    result: dict[str, Any] = Field(default_factory=dict)


class IncidentState(TypedDict, total=False):
    """The state checkpointed per thread (thread_id = incident id); JSON-safe values only."""

    incident_id: str
    source_id: str
    service: str
    observed_at: str
    findings: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    triage: str  # new | attached | none
    diagnosis: dict[str, Any]
    hypothesis_index: int
    rounds: int  # extra rounds of the same hypothesis (scaling further)
    plan: list[dict[str, Any]]
    approval_decision: dict[str, Any]
    verification: dict[str, Any]
    last_p95_ms: float | None  # p95 latency at the latest verify that saw a latency breach (scaling rounds compare)
    status: str
    outcome: str
    timeline: Annotated[list[dict[str, Any]], operator.add]
    attempts: Annotated[list[dict[str, Any]], operator.add]  # hypotheses whose fix was tried and undone
