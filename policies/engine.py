"""Policy-as-code: YAML rules, evaluated first-match, decide whether an action runs, needs a human, or is denied.

A policy file::

    version: 1
    freeze_windows:                  # change freezes; rules test them with ``in_freeze``
      - {id: black-friday, start: 2025-11-28T00:00:00Z, end: 2025-12-01T00:00:00Z}
      - {id: friday-evening, cron: "fri 16-23", tz: Europe/Berlin}   # "<weekdays> <hours>"
    rules:
      - id: production.model_change_needs_approval
        description: Model changes in production need a human.
        when: {action: [rollback_model, retrain_model], environment: production}
        outcome: approval            # auto | approval | deny
        required_role: approver      # viewer | operator | approver | admin
        required_count: 1
        expires_after_min: 60

A rule matches when every condition in ``when`` holds (an empty ``when`` matches everything);
the first matching rule decides. Conditions (see ``Conditions``): action, risk, risk_min,
environment, tier, blast_radius_min/max, confidence_min/below, in_freeze, rate_limit_service,
rate_limit_action, reversible, replicas_within_max, replicas_known.

After the rules, invariants that no policy file can switch off are applied in code and named
in ``Decision.rule_id``: an action outside the catalogue (or with invalid parameters) is
denied, an irreversible action is never automatic, and a critical one needs two approvers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policies.catalogue import RISKS, Catalogue, CatalogueError, Risk, risk_rank
from policies.roles import Role, role_rank

Outcome = Literal["auto", "approval", "deny"]
DEFAULT_POLICY = Path(__file__).with_name("default.yaml")

RULE_UNKNOWN_ACTION = "catalogue.unknown_action"
RULE_INVALID_PARAMS = "catalogue.invalid_params"
RULE_NO_MATCH = "policy.no_rule_matched"
RULE_IRREVERSIBLE = "invariant.irreversible_needs_approval"
RULE_CRITICAL = "invariant.critical_needs_two_approvers"
RULE_HIGH_RISK_PRODUCTION = "invariant.high_risk_in_production_needs_approval"
PRODUCTION_ENVIRONMENTS = frozenset({"production", "prod"})

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """A policy file is invalid; the message lists every problem with its line."""


# -- the input and output of a decision -----------------------------------------------------

class PolicyContext(BaseModel):
    """Everything a rule may look at. Rate counts are of actions *before* this one in the past hour.

    ``risk`` and ``reversible`` may be left out: the catalogue supplies them, and a context can
    only raise the risk or mark an action irreversible, never the reverse.
    """

    action: str
    service: str
    params: dict[str, Any] = Field(default_factory=dict)
    environment: str = "production"
    tier: int = 2
    risk: Risk | None = None
    reversible: bool | None = None
    blast_radius: float = Field(default=1.0, ge=0.0, le=1.0)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    now: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actions_last_hour_service: int = Field(default=0, ge=0)
    actions_last_hour_action: int = Field(default=0, ge=0)
    replicas_after: int | None = None
    max_replicas: int | None = None
    # Feedback-loop guard: labels that echo the model's own outputs were seen, and whether they are quarantined.
    feedback_contaminated: bool = False
    feedback_quarantined: bool = False


class Decision(BaseModel):
    """What the policy decided, which rule (or invariant) decided it, and who may approve."""

    outcome: Outcome
    rule_id: str
    reason: str
    risk: Risk
    required_role: Role = "approver"
    required_count: int = Field(default=1, ge=1)
    expires_after_min: int = Field(default=60, gt=0)
    matched_rule: str | None = None  # the YAML rule that matched, when an invariant overrode it


class RuleTrace(BaseModel):
    """One line of ``explain``: did this rule (or invariant) match, and why (not)."""

    id: str
    matched: bool
    why: str
    decided: bool = False


# -- the policy file ----------------------------------------------------------------------------

def _parse_cron(spec: str) -> tuple[frozenset[int], frozenset[int]]:
    """``"<weekdays> <hours>"``, e.g. ``"fri 16-23"``, ``"sat,sun *"``, ``"mon-fri 0-6,22-23"``."""
    parts = spec.split()
    if len(parts) != 2:
        raise ValueError(f"cron {spec!r} must be '<weekdays> <hours>', e.g. 'fri 16-23' or 'sat,sun *'")

    def expand(field: str, names: tuple[str, ...] | None, top: int) -> frozenset[int]:
        if field == "*":
            return frozenset(range(top + 1))
        out: set[int] = set()
        for item in field.split(","):
            low, _, high = item.partition("-")
            try:
                a, b = (names.index(x.lower()) if names else int(x) for x in (low, high or low))
            except ValueError:
                kind = "weekday (mon..sun)" if names else f"hour (0..{top})"
                raise ValueError(f"cron {spec!r}: {item!r} is not a {kind} or range of them") from None
            if not (0 <= a <= b <= top):
                raise ValueError(f"cron {spec!r}: range {item!r} is empty or outside 0..{top}")
            out.update(range(a, b + 1))
        return frozenset(out)

    return expand(parts[0], _WEEKDAYS, 6), expand(parts[1], None, 23)


def as_utc(at: datetime) -> datetime:
    """A UTC-aware datetime; naive ones (as SQLite returns them) are taken to be UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class FreezeWindow(BaseModel):
    """A change freeze: an absolute time range (``start``..``end``) or a weekly ``cron`` in ``tz``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    tz: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_cron(value)
        return value

    @field_validator("tz")
    @classmethod
    def _tz_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> FreezeWindow:
        ranged = self.start is not None or self.end is not None
        if ranged == (self.cron is not None):
            raise ValueError(f"freeze window {self.id!r} needs either start and end, or cron (not both)")
        if ranged and (self.start is None or self.end is None or as_utc(self.end) <= as_utc(self.start)):
            raise ValueError(f"freeze window {self.id!r} needs both start and end, with end after start")
        return self

    def contains(self, now: datetime) -> bool:
        """True when ``now`` falls inside the window (start inclusive, end exclusive)."""
        if self.cron is None:
            return as_utc(self.start) <= as_utc(now) < as_utc(self.end)  # type: ignore[arg-type]
        days, hours = _parse_cron(self.cron)
        local = as_utc(now).astimezone(ZoneInfo(self.tz))
        return local.weekday() in days and local.hour in hours


class Conditions(BaseModel):
    """The ``when`` of a rule; every condition given must hold. Bounds are inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str | list[str] | None = None
    risk: Risk | list[Risk] | None = None
    risk_min: Risk | None = None
    environment: str | list[str] | None = None
    tier: int | list[int] | None = None
    blast_radius_min: float | None = Field(default=None, ge=0.0, le=1.0)
    blast_radius_max: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence_min: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence_below: float | None = Field(default=None, ge=0.0, le=1.0)
    in_freeze: bool | None = None
    # "limit N per hour": matches when this action would be more than N in the past hour.
    rate_limit_service: int | None = Field(default=None, ge=0)
    rate_limit_action: int | None = Field(default=None, ge=0)
    reversible: bool | None = None
    # within max means 1 <= replicas_after <= max_replicas; both unknown-tolerant, see _replicas_within.
    replicas_within_max: bool | None = None
    replicas_known: bool | None = None
    feedback_contaminated: bool | None = None
    feedback_quarantined: bool | None = None


class Rule(BaseModel):
    """One rule of a policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=120)
    description: str = ""
    when: Conditions = Field(default_factory=Conditions)
    outcome: Outcome
    reason: str = ""
    required_role: Role = "approver"
    required_count: int = Field(default=1, ge=1)
    expires_after_min: int = Field(default=60, gt=0)


class PolicyFile(BaseModel):
    """A whole policy: freeze windows and the ordered rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    description: str = ""
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)


# -- evaluation ------------------------------------------------------------------------------------

class _Facts(BaseModel):
    """The context after the catalogue filled in risk and reversibility."""

    ctx: PolicyContext
    risk: Risk
    reversible: bool
    replicas_after: int | None
    freezes: list[str]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _replicas_within(facts: _Facts) -> bool | None:
    """None when either count is unknown, so neither ``replicas_within_max: true`` nor ``false`` matches."""
    if facts.replicas_after is None or facts.ctx.max_replicas is None:
        return None
    return 1 <= facts.replicas_after <= facts.ctx.max_replicas


def _one_of(label: str, actual: Any, wanted: Any) -> tuple[bool, str]:
    options = _as_list(wanted)
    if actual in options:
        return True, f"{label} {actual!r} is in {options}"
    return False, f"{label} {actual!r} is not in {options}"


def _at_least(label: str, actual: float, bound: float) -> tuple[bool, str]:
    return (actual >= bound), f"{label} {actual:g} {'>=' if actual >= bound else '<'} {bound:g}"


def _at_most(label: str, actual: float, bound: float) -> tuple[bool, str]:
    return (actual <= bound), f"{label} {actual:g} {'<=' if actual <= bound else '>'} {bound:g}"


def _over_rate(label: str, before: int, limit: int) -> tuple[bool, str]:
    would_be = before + 1
    verb = "exceeds" if would_be > limit else "is within"
    return would_be > limit, f"this would be {label} action {would_be} in the past hour, which {verb} the limit {limit}"


def _flag(label: str, actual: bool | None, wanted: bool) -> tuple[bool, str]:
    if actual is None:
        return False, f"{label} is unknown"
    return actual == wanted, f"{label} is {actual}" + ("" if actual == wanted else f", rule wants {wanted}")


_CHECKS: dict[str, Callable[[_Facts, Any], tuple[bool, str]]] = {
    "action": lambda f, v: _one_of("action", f.ctx.action, v),
    "risk": lambda f, v: _one_of("risk", f.risk, v),
    "risk_min": lambda f, v: (risk_rank(f.risk) >= risk_rank(v),
                              f"risk {f.risk} is {'at or above' if risk_rank(f.risk) >= risk_rank(v) else 'below'} {v}"),
    "environment": lambda f, v: _one_of("environment", f.ctx.environment, v),
    "tier": lambda f, v: _one_of("tier", f.ctx.tier, v),
    "blast_radius_min": lambda f, v: _at_least("blast radius", f.ctx.blast_radius, v),
    "blast_radius_max": lambda f, v: _at_most("blast radius", f.ctx.blast_radius, v),
    "confidence_min": lambda f, v: _at_least("confidence", f.ctx.confidence, v),
    "confidence_below": lambda f, v: (f.ctx.confidence < v, f"confidence {f.ctx.confidence:g} "
                                      f"{'<' if f.ctx.confidence < v else '>='} {v:g}"),
    "in_freeze": lambda f, v: (bool(f.freezes) == v, f"inside freeze window(s) {f.freezes}" if f.freezes
                               else "no freeze window is active"),
    "rate_limit_service": lambda f, v: _over_rate(f"service {f.ctx.service!r}", f.ctx.actions_last_hour_service, v),
    "rate_limit_action": lambda f, v: _over_rate(f"{f.ctx.action!r}", f.ctx.actions_last_hour_action, v),
    "reversible": lambda f, v: _flag("reversible", f.reversible, v),
    "replicas_within_max": lambda f, v: _flag(
        f"replicas after ({f.replicas_after}) within 1..max ({f.ctx.max_replicas})", _replicas_within(f), v),
    "replicas_known": lambda f, v: _flag(
        "replica count and maximum known", f.replicas_after is not None and f.ctx.max_replicas is not None, v),
    "feedback_contaminated": lambda f, v: _flag("feedback contaminated", f.ctx.feedback_contaminated, v),
    "feedback_quarantined": lambda f, v: _flag("feedback quarantined", f.ctx.feedback_quarantined, v),
}


def _match(rule: Rule, facts: _Facts) -> tuple[bool, str]:
    """Whether every condition holds; why names all of them when it matches, the first failing one when not."""
    reasons = []
    for name, value in rule.when.model_dump(exclude_none=True).items():
        ok, why = _CHECKS[name](facts, value)
        if not ok:
            return False, why
        reasons.append(why)
    return True, "; ".join(reasons) or "matches every action (no conditions)"


class PolicyEngine:
    """Decides auto / approval / deny for one planned action, and explains the decision rule by rule."""

    def __init__(self, policy: PolicyFile, *, source: str = "<policy>") -> None:
        self.policy = policy
        self.source = source

    @classmethod
    def load(cls, path: Path | str | None = None, *, catalogue: Catalogue | None = None) -> PolicyEngine:
        """Read and check a policy file (default: the packaged ``default.yaml``); PolicyError lists every problem."""
        path = Path(path) if path is not None else DEFAULT_POLICY
        problems = check_policy_file(path, catalogue=catalogue)
        if problems:
            raise PolicyError(f"invalid policy {path}:\n  " + "\n  ".join(problems))
        return cls(PolicyFile.model_validate(yaml.safe_load(path.read_text())), source=str(path))

    @property
    def rules(self) -> list[Rule]:
        return list(self.policy.rules)

    def decide(self, ctx: PolicyContext, catalogue: Catalogue) -> Decision:
        """The decision for one action; the same evaluation ``explain`` reports."""
        return self._evaluate(ctx, catalogue)[0]

    def explain(self, ctx: PolicyContext, catalogue: Catalogue) -> list[RuleTrace]:
        """Every rule and invariant, whether it matched and why; the one that decided has ``decided=True``."""
        return self._evaluate(ctx, catalogue)[1]

    def _evaluate(self, ctx: PolicyContext, catalogue: Catalogue) -> tuple[Decision, list[RuleTrace]]:
        spec = catalogue.get(ctx.action)
        if spec is None:
            reason = f"action {ctx.action!r} is not in the catalogue; only catalogue actions may run"
            decision = Decision(outcome="deny", rule_id=RULE_UNKNOWN_ACTION, reason=reason, risk=ctx.risk or "critical")
            return decision, [RuleTrace(id=RULE_UNKNOWN_ACTION, matched=True, why=reason, decided=True)]
        try:
            catalogue.validate_params(ctx.action, ctx.params)
        except CatalogueError as exc:
            decision = Decision(outcome="deny", rule_id=RULE_INVALID_PARAMS, reason=str(exc),
                                risk=max(spec.risk, ctx.risk or "low", key=risk_rank))
            return decision, [RuleTrace(id=RULE_INVALID_PARAMS, matched=True, why=str(exc), decided=True)]

        replicas = ctx.replicas_after
        if replicas is None and isinstance(ctx.params.get("replicas"), int):
            replicas = ctx.params["replicas"]
        facts = _Facts(ctx=ctx, risk=max(spec.risk, ctx.risk or "low", key=risk_rank),
                       reversible=spec.reversible and ctx.reversible is not False, replicas_after=replicas,
                       freezes=[w.id for w in self.policy.freeze_windows if w.contains(ctx.now)])

        traces: list[RuleTrace] = []
        decision: Decision | None = None
        for rule in self.policy.rules:
            matched, why = _match(rule, facts)
            decides = matched and decision is None
            traces.append(RuleTrace(id=rule.id, matched=matched, why=why, decided=decides))
            if decides:
                decision = Decision(outcome=rule.outcome, rule_id=rule.id, risk=facts.risk,
                                    reason=f"{rule.reason or rule.description or rule.id} ({why})",
                                    required_role=rule.required_role, required_count=rule.required_count,
                                    expires_after_min=rule.expires_after_min)
        if decision is None:
            decision = Decision(outcome="approval", rule_id=RULE_NO_MATCH, risk=facts.risk,
                                reason="no rule matched; a human decides")
            traces.append(RuleTrace(id=RULE_NO_MATCH, matched=True, why=decision.reason, decided=True))
        return self._invariants(decision, facts, traces)

    @staticmethod
    def _invariants(decision: Decision, facts: _Facts,
                    traces: list[RuleTrace]) -> tuple[Decision, list[RuleTrace]]:
        """Safety floors no policy file can lower, applied in code after the rules."""
        name = facts.ctx.action
        irreversible = not facts.reversible and decision.outcome == "auto"
        why = (f"{name} is irreversible; rule {decision.rule_id!r} said auto, a human must approve" if irreversible
               else f"{name} is reversible or not automatic")
        if irreversible:
            decision = decision.model_copy(update={"outcome": "approval", "rule_id": RULE_IRREVERSIBLE, "reason": why,
                                                   "matched_rule": decision.matched_rule or decision.rule_id})
        traces.append(RuleTrace(id=RULE_IRREVERSIBLE, matched=irreversible, why=why, decided=irreversible))

        high_in_production = (decision.outcome == "auto" and risk_rank(facts.risk) >= risk_rank("high")
                              and facts.ctx.environment in PRODUCTION_ENVIRONMENTS)
        why = (f"{name} is {facts.risk} risk in {facts.ctx.environment}; rule {decision.rule_id!r} said auto, "
               f"a human must approve" if high_in_production
               else "not an automatic high-risk action in production")
        if high_in_production:
            decision = decision.model_copy(update={"outcome": "approval", "rule_id": RULE_HIGH_RISK_PRODUCTION,
                                                   "reason": why,
                                                   "matched_rule": decision.matched_rule or decision.rule_id})
        traces.append(RuleTrace(id=RULE_HIGH_RISK_PRODUCTION, matched=high_in_production, why=why,
                                decided=high_in_production))

        critical = (facts.risk == "critical" and decision.outcome != "deny"
                    and (decision.outcome == "auto" or decision.required_count < 2))
        why = (f"{name} is critical; rule {decision.rule_id!r} asked for {decision.outcome} with "
               f"{decision.required_count} approver(s), it needs two" if critical
               else f"risk is {facts.risk}, or two approvers are already required, or it is denied")
        if critical:
            decision = decision.model_copy(update={"outcome": "approval", "rule_id": RULE_CRITICAL, "reason": why,
                                                   "required_count": 2,
                                                   "matched_rule": decision.matched_rule or decision.rule_id})
        traces.append(RuleTrace(id=RULE_CRITICAL, matched=critical, why=why, decided=critical))
        # Whatever a rule says, only an approver (or admin) may approve.
        if decision.outcome == "approval" and role_rank(decision.required_role) < role_rank("approver"):
            decision = decision.model_copy(update={"required_role": "approver"})
        if decision.rule_id in (RULE_IRREVERSIBLE, RULE_HIGH_RISK_PRODUCTION, RULE_CRITICAL):
            for trace in traces:
                trace.decided = trace.id == decision.rule_id
        return decision, traces


# -- checking a policy file ----------------------------------------------------------------------------

def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, list[Any]]:
    """The deepest YAML node along a pydantic error location, and the location parts it resolved."""
    node, walked = root, []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == part), None)
            if hit is None:
                break
            # an unknown key is best pointed at by the key itself
            node = hit[1] if part in _KNOWN_KEYS else hit[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        walked.append(part)
    return node, walked


_KNOWN_KEYS = (set(PolicyFile.model_fields) | set(Rule.model_fields) | set(Conditions.model_fields)
               | set(FreezeWindow.model_fields))


def _field_name(loc: list[Any], data: Any) -> str:
    """``rules[3] (id 'x').when.environment`` from a location."""
    out, cursor = "", data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            cursor = cursor[part] if isinstance(cursor, list) and part < len(cursor) else None
            if isinstance(cursor, dict) and "id" in cursor:
                out += f" (id {cursor['id']!r})"
        else:
            out += f".{part}" if out else str(part)
            cursor = cursor.get(part) if isinstance(cursor, dict) else None
    return out or "(top level)"


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def check_policy_file(path: Path | str, *, catalogue: Catalogue | None = None) -> list[str]:
    """Every problem in a policy file as ``line N: field: message``; an empty list when the file is valid."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        return [f"cannot read {path}: {exc}"]
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return [f"{where}YAML syntax error: {getattr(exc, 'problem', None) or exc}"]
    if not isinstance(data, dict):
        return ["line 1: the policy must be a mapping with 'rules' (and optionally 'freeze_windows')"]

    try:
        PolicyFile.model_validate(data)
    except ValidationError as exc:
        merged: dict[tuple[int, str], list[str]] = {}
        for error in exc.errors():
            node, walked = _node_at(root, tuple(error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                known = _KNOWN_KEYS if walked else set(PolicyFile.model_fields)
                close = difflib.get_close_matches(str(walked[-1] if walked else ""), sorted(known), n=1)
                message = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
            elif len(walked) < len(error["loc"]) and error["type"] != "missing":
                message += f" (got {error['input']!r})"
            merged.setdefault((_line(node), _field_name(walked, data)), []).append(message)
        return [f"line {line}: {field}: {' or '.join(dict.fromkeys(msgs))}" for (line, field), msgs in merged.items()]

    return _semantic_problems(root, data, catalogue or Catalogue.load())


def _semantic_problems(root: yaml.Node | None, data: dict[str, Any], catalogue: Catalogue) -> list[str]:
    """Problems a schema cannot see: duplicate ids, actions outside the catalogue, unreachable rules."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    catch_all: str | None = None
    for index, rule in enumerate(data["rules"]):
        where = ("rules", index)
        line = _line(_node_at(root, where)[0])
        field = _field_name(list(where), data)
        if rule["id"] in seen:
            problems.append(f"line {line}: {field}: duplicate rule id (first used by rules[{seen[rule['id']]}])")
        seen.setdefault(rule["id"], index)
        if catch_all is not None:
            problems.append(f"line {line}: {field}: never reached, rule {catch_all!r} before it matches everything")
        when = rule.get("when") or {}
        if not when:
            catch_all = catch_all or rule["id"]
        for name in _as_list(when.get("action", [])):
            if name not in catalogue:
                action_line = _line(_node_at(root, (*where, "when", "action"))[0])
                problems.append(f"line {action_line}: {field}.when.action: {name!r} is not in the catalogue")
    windows = [w["id"] for w in data.get("freeze_windows") or []]
    for index, window_id in enumerate(windows):
        if windows.index(window_id) != index:
            line = _line(_node_at(root, ("freeze_windows", index))[0])
            problems.append(f"line {line}: freeze_windows[{index}]: duplicate window id {window_id!r}")
    return problems


__all__ = [
    "RISKS", "Conditions", "Decision", "FreezeWindow", "PolicyContext", "PolicyEngine", "PolicyError", "PolicyFile",
    "Rule", "RuleTrace", "check_policy_file",
]
