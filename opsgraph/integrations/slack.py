"""Slack approvals: Block Kit requests with Approve/Deny buttons, and a signed Bolt app that records the clicks.

HTTP mode (default): Slack posts interactions to ``/slack/events`` on the OpsGraph server; Bolt
checks the request signature and refuses timestamps older than five minutes. Socket Mode: set
OPSGRAPH_SLACK_APP_TOKEN (``xapp-...``). A click is bound to the approval id, the action id and
its parameter hash, needs a Slack user mapped to the approver role (``slack_users.yaml``), and only
*records* the decision — the loop resumes the incident. Slack being unreachable never raises
into the graph: the approval stays pending for the API, chat and CLI.

Where each request was posted (channel + message ts) is kept in the audit log (``slack.posted``),
so whichever process closes the incident — normally the loop, after resuming the thread — can
update the message with the final outcome (resolved / escalated, verified or not): see
:meth:`SlackIntegration.incident_closed`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from memory.store import Store
from opsgraph.server.auth import load_identities, slack_users_path
from policies import approvals, audit
from policies.redact import redact
from policies.roles import RoleBook

log = logging.getLogger("opsgraph.slack")
APPROVE, DENY = "opsgraph_approve", "opsgraph_deny"
POSTED, OUTCOME_POSTED = "slack.posted", "slack.outcome_posted"  # audit kinds: where a request was posted; its final update
MAX_EVIDENCE = 5


class SlackConfig(BaseModel):
    """Credentials and where to post; from OPSGRAPH_SLACK_* variables."""

    signing_secret: str
    bot_token: str
    channel: str
    app_token: str | None = None  # Socket Mode
    api_url: str | None = None  # Web API base URL (a local stub in tests)
    timeout_s: float = 5.0

    @classmethod
    def from_env(cls) -> SlackConfig | None:
        """The configuration, or None unless secret, bot token and channel are all set."""
        secret, token = os.environ.get("OPSGRAPH_SLACK_SIGNING_SECRET"), os.environ.get("OPSGRAPH_SLACK_BOT_TOKEN")
        channel = os.environ.get("OPSGRAPH_SLACK_CHANNEL")
        if not (secret and token and channel):
            return None
        return cls(signing_secret=secret, bot_token=token, channel=channel,
                   app_token=os.environ.get("OPSGRAPH_SLACK_APP_TOKEN") or None,
                   api_url=os.environ.get("OPSGRAPH_SLACK_API_URL") or None)


# -- Block Kit -------------------------------------------------------------------------------------
def _text(markdown: str) -> dict[str, Any]:
    """A Block Kit text object; personal data is redacted before anything leaves for Slack."""
    return {"type": "mrkdwn", "text": redact(markdown)[:2900]}


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    """A plain-text object (headers), redacted."""
    return {"type": "plain_text", "text": redact(text)[:limit]}


def approval_blocks(request: dict[str, Any], store: Store) -> list[dict[str, Any]]:
    """The approval request: service, incident, exact action and parameters, risk, rule, evidence, expiry, buttons."""
    action = request["action"]
    incident = store.incident(request["incident_id"])
    findings = store.findings(request["incident_id"])[:MAX_EVIDENCE]
    evidence = "\n".join(f"• {f.summary}" for f in findings) or "• (no findings stored)"
    value = json.dumps({"approval_id": request["approval_id"], "action_id": action["action_id"],
                        "params_hash": action["params_hash"]})
    return [
        {"type": "header", "text": _plain(f"Approval needed: {action['name']} on {action['service']}")},
        {"type": "section", "text": _text(f"*Incident* `{request['incident_id']}`: "
                                          f"{incident.title if incident else request.get('summary', '')}")},
        {"type": "section", "fields": [
            _text(f"*Service*\n{action['service']}"),
            _text(f"*Action*\n`{action['name']}` `{json.dumps(action.get('params', {}), sort_keys=True)}`"),
            _text(f"*Risk*\n{request.get('risk', '?')}"),
            _text(f"*Policy rule*\n`{request.get('rule_id', '?')}`"),
            _text(f"*Expires*\n{request.get('expires_at', '?')}"),
            _text(f"*Approval*\n`{request['approval_id']}`"),
        ]},
        {"type": "section", "text": _text(f"*Why*\n{action.get('rationale') or request.get('summary', '')}")},
        {"type": "section", "text": _text(f"*Evidence* (numbers cite tool calls)\n{evidence}")},
        {"type": "actions", "block_id": "opsgraph_decision", "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": DENY, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Deny"}},
        ]},
    ]


def verification_line(store: Store, incident_id: str) -> str:
    """Whether the fix was verified, from the last ``verification`` audit entry, citing its tool calls."""
    checks = [e for e in store.audit_entries(incident_id) if e.kind == "verification"]
    if not checks:
        return "not verified (nothing was executed to verify)"
    last = checks[-1].payload or {}
    cited = " ".join(f"[{tc}]" for tc in (last.get("tool_call_ids") or [])[:4])
    if checks[-1].subject == "recovered":
        return f"verified: recovered ({', '.join(last.get('judged') or []) or 'checks'} back within thresholds) {cited}".strip()
    firing = [*(last.get("still_firing") or []), *(last.get("new_signals") or [])]
    why = f"still firing: {', '.join(firing)}" if firing else "not enough post-fix data to judge"
    return f"not verified: {why} {cited}".strip()


def final_blocks(store: Store, approval_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The closed incident as a message replacing the approval request: decision, outcome, verification."""
    row = store.approval(approval_id)
    if row is None:
        raise KeyError(f"unknown approval {approval_id!r}")
    incident, action = store.incident(row.incident_id), store.action(row.action_id)
    status = incident.status if incident else "?"
    label = f"{action.name} on {action.service}" if action else row.action_id
    who = f" by {row.decided_by}" if row.decided_by else ""
    decided = f"{row.status}{who}" + (f" at {row.decided_at:%Y-%m-%d %H:%M} UTC" if row.decided_at else "")
    verified = verification_line(store, row.incident_id)
    text = f"Incident {row.incident_id} {status}: {label} {row.status}{who}; {verified}"
    mark = {"resolved": ":white_check_mark:", "escalated": ":rotating_light:"}.get(status, ":grey_question:")
    blocks = [
        {"type": "header", "text": _plain(f"{label}: incident {status}")},
        {"type": "section", "text": _text(f"{mark} *Incident* `{row.incident_id}` is *{status}*"
                                          + (f" (outcome {incident.outcome})" if incident and incident.outcome else ""))},
        {"type": "section", "fields": [
            _text(f"*Action*\n`{label}`"),
            _text(f"*Approval*\n`{row.id}` {decided}"),
            _text(f"*Policy rule*\n`{row.rule_id}`"),
            _text(f"*Verification*\n{verified}"),
        ]},
        {"type": "section", "text": _text(f"*Summary*\n{(incident.summary if incident else '') or '-'}")},
        {"type": "context", "elements": [_text(f"closed {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · numbers cite tool calls")]},
    ]
    return redact(text), blocks


def outcome_blocks(blocks: list[dict[str, Any]], outcome: str) -> list[dict[str, Any]]:
    """The original message without its buttons, with the outcome appended."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [_text(outcome)]}]


# -- posting -------------------------------------------------------------------------------------
class SlackApprovalChannel:
    """An ApprovalChannel that posts Block Kit requests; delivery failures are logged, never raised."""

    name = "slack"

    def __init__(self, client: WebClient, channel: str, store: Store) -> None:
        self.client, self.channel_id, self.store = client, channel, store

    def post(self, request: dict[str, Any]) -> None:
        action = request.get("action", {})
        try:
            response = self.client.chat_postMessage(channel=self.channel_id, blocks=approval_blocks(request, self.store),
                                                    text=f"Approval needed: {action.get('name')} on "
                                                         f"{action.get('service')} ({request.get('approval_id')})")
            log.info("slack.posted", extra={"approval_id": request.get("approval_id")})
        except Exception as exc:  # the contract: a channel never breaks the graph; the request stays pending
            log.warning("slack.post_failed", extra={"approval_id": request.get("approval_id"),
                                                    "error": f"{type(exc).__name__}: {exc}"})
            return
        try:  # remember where the message is, so the final outcome can replace it (any process)
            audit.append(self.store, actor="slack", kind=POSTED, incident_id=request.get("incident_id"),
                         subject=str(request.get("approval_id", "")),
                         payload={"channel": response.get("channel") or self.channel_id, "ts": response.get("ts")})
        except Exception as exc:  # the request is posted; only the later outcome update will be missing
            log.warning("slack.post_unrecorded", extra={"approval_id": request.get("approval_id"),
                                                        "error": f"{type(exc).__name__}: {exc}"})


# -- receiving clicks -------------------------------------------------------------------------------
class SlackIntegration:
    """The Bolt app (signed HTTP or Socket Mode), its Web API client and the approval channel."""

    def __init__(self, config: SlackConfig, store: Store, *, rolebook: Callable[[], RoleBook], home: Path,
                 client: WebClient | None = None) -> None:
        self.config, self.store, self.rolebook, self.home = config, store, rolebook, home
        self.client = client or WebClient(token=config.bot_token, base_url=config.api_url or WebClient.BASE_URL,
                                          timeout=int(config.timeout_s))
        self.channel = SlackApprovalChannel(self.client, config.channel, store)
        self.app = App(signing_secret=config.signing_secret, client=self.client, process_before_response=True,
                       authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id=None,
                                                             bot_token=config.bot_token),
                       name="opsgraph")
        self.app.action(APPROVE)(self._on_approve)
        self.app.action(DENY)(self._on_deny)
        self._socket: Any = None

    def _on_approve(self, ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        self.click(body, approve=True)

    def _on_deny(self, ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        self.click(body, approve=False)

    def click(self, body: dict[str, Any], *, approve: bool) -> str:
        """Record one click; returns the outcome text (also shown in Slack)."""
        slack_user = str(body.get("user", {}).get("id", ""))
        try:
            bound = json.loads(body["actions"][0]["value"])
            approval_id = str(bound["approval_id"])
        except (KeyError, IndexError, TypeError, ValueError):
            return self._refuse(body, slack_user, None, "malformed button payload")
        identity = load_identities(slack_users_path(self.home)).get(slack_user)
        if identity is None:
            return self._refuse(body, slack_user, approval_id,
                                f"Slack user {slack_user} is not mapped to an OpsGraph user ({slack_users_path(self.home).name})")
        row = self.store.approval(approval_id)
        if row is None or row.action_id != bound.get("action_id") or row.params_hash != bound.get("params_hash"):
            return self._refuse(body, slack_user, approval_id, "the button does not match the approval's action and parameters")
        roles = self.rolebook().roles_of(identity.user) | set(identity.roles)
        try:
            row = approvals.decide(self.store, approval_id, user=identity.user, roles=roles, approve=approve,
                                   now=datetime.now(UTC), reason="via Slack")
        except approvals.ApprovalError as exc:
            self._ephemeral(body, slack_user, f"Not recorded: {exc}")
            return f"refused: {exc}"
        outcome = (f"*{row.status}* by {identity.user} (<@{slack_user}>) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
                   + (" — OpsGraph resumes the incident now" if row.status in ("approved", "rejected") else ""))
        self._update(body, outcome)
        log.info("slack.decided", extra={"approval_id": approval_id, "status": row.status, "user": identity.user})
        return outcome

    def _refuse(self, body: dict[str, Any], slack_user: str, approval_id: str | None, why: str) -> str:
        audit.append(self.store, actor=f"slack:{slack_user or '?'}", kind="approval.refused",
                     incident_id=self.store.approval(approval_id).incident_id
                     if approval_id and self.store.approval(approval_id) else None,
                     subject=approval_id or "", payload={"channel": "slack", "refusal": why})
        log.warning("slack.refused", extra={"approval_id": approval_id, "slack_user": slack_user, "reason": why})
        self._ephemeral(body, slack_user, f"Not recorded: {why}")
        return f"refused: {why}"

    def _ephemeral(self, body: dict[str, Any], slack_user: str, text: str) -> None:
        channel = body.get("channel", {}).get("id")
        if not channel or not slack_user:
            return
        try:
            self.client.chat_postEphemeral(channel=channel, user=slack_user, text=text)
        except Exception as exc:  # telling the clicker is best effort
            log.warning("slack.ephemeral_failed", extra={"error": f"{type(exc).__name__}: {exc}"})

    def _update(self, body: dict[str, Any], outcome: str) -> None:
        message, channel = body.get("message") or {}, (body.get("channel") or {}).get("id")
        if not channel or not message.get("ts"):
            return
        try:
            self.client.chat_update(channel=channel, ts=message["ts"], text=outcome,
                                    blocks=outcome_blocks(message.get("blocks", []), outcome))
        except Exception as exc:  # the decision is recorded; only the message stays stale
            log.warning("slack.update_failed", extra={"error": f"{type(exc).__name__}: {exc}"})

    # -- the final outcome
    def incident_closed(self, incident_id: str) -> list[str]:
        """Replace each posted approval request of a closed incident with its outcome; the approval ids updated.

        Called by the loop after a resumed thread ends (resolved or escalated). Best effort: Slack being
        down is logged, never raised; a later call updates the messages not yet updated.
        """
        incident = self.store.incident(incident_id)
        if incident is None or incident.status not in ("resolved", "escalated"):
            return []
        entries = self.store.audit_entries(incident_id)
        done = {e.subject for e in entries if e.kind == OUTCOME_POSTED}
        updated = []
        for entry in entries:
            if entry.kind != POSTED or entry.subject in done or not (entry.payload or {}).get("ts"):
                continue
            try:
                text, blocks = final_blocks(self.store, entry.subject)
                self.client.chat_update(channel=entry.payload["channel"], ts=entry.payload["ts"], text=text,
                                        blocks=blocks)
            except Exception as exc:  # the incident is closed and audited; only the message stays stale
                log.warning("slack.outcome_update_failed", extra={"approval_id": entry.subject, "incident_id": incident_id,
                                                                  "error": f"{type(exc).__name__}: {exc}"})
                continue
            audit.append(self.store, actor="slack", kind=OUTCOME_POSTED, incident_id=incident_id, subject=entry.subject,
                         payload={"status": incident.status, "outcome": incident.outcome, "text": text})
            done.add(entry.subject)
            updated.append(entry.subject)
        if updated:
            log.info("slack.outcome_updated", extra={"incident_id": incident_id, "status": incident.status,
                                                     "approvals": updated})
        return updated

    # -- wiring
    def mount(self, app: Any) -> None:
        """Serve the Bolt app at ``POST /slack/events`` of a FastAPI app."""
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
        from starlette.concurrency import run_in_threadpool

        @app.post("/slack/events", include_in_schema=False)
        async def slack_events(request: Request) -> Any:
            body = await request.body()
            response = await run_in_threadpool(self.app.dispatch, to_bolt_request(request, body))
            return to_starlette_response(response)

    def start_socket_mode(self) -> None:
        """Connect over Socket Mode when an app-level token is configured (no public URL needed)."""
        if not self.config.app_token:
            return
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._socket = SocketModeHandler(self.app, self.config.app_token)
        self._socket.connect()
        log.info("slack.socket_mode_connected")
