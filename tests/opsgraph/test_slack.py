"""Slack approvals: Block Kit requests posted to a local Web API stub; signed clicks record decisions; bad ones don't."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from slack_sdk import WebClient

from opsgraph.integrations.slack import APPROVE, DENY, SlackApprovalChannel, SlackConfig, SlackIntegration
from opsgraph.loop import ServiceLoop
from opsgraph.runtime import Runtime
from opsgraph.server.app import create_app
from opsgraph.server.auth import home_identity_book
from opsgraph.settings import Settings
from policies import approvals
from tests.stubs.fleet import fast_scenario, step_until
from tests.stubs.http_stub import Stub, serve_stub
from tests.stubs.servers import free_port, serve_app
from tests.stubs.slack_stub import calls, click, signed, slack_answer

SECRET = "test-signing-secret"
USERS = {"U_ALICE": {"user": "alice", "roles": ["approver"]}, "U_VIC": {"user": "vic", "roles": ["viewer"]}}


class Env:
    def __init__(self, base: str, runtime: Runtime, loop: ServiceLoop, slack: Stub) -> None:
        self.base, self.runtime, self.loop, self.slack = base, runtime, loop, slack

    def post(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        body, headers = signed(SECRET, payload, **kw)
        return httpx.post(f"{self.base}/slack/events", content=body, headers=headers, timeout=10)

    def posted(self) -> dict[str, Any]:
        return calls(self.slack, "chat.postMessage")[0]

    def value(self) -> str:
        actions = next(b for b in self.posted()["blocks"] if b["type"] == "actions")
        return actions["elements"][0]["value"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("slack")
    settings = Settings.from_env(root / "home").model_copy(update={"memory_enabled": False})
    with serve_stub(Stub(slack_answer)) as slack_api, Runtime(settings) as runtime:
        (settings.home / "slack_users.yaml").write_text(yaml.safe_dump(USERS))
        config = SlackConfig(signing_secret=SECRET, bot_token="xoxb-test", channel="C0OPS", api_url=f"{slack_api.url}/api/")
        slack = SlackIntegration(config, runtime.store, rolebook=lambda: home_identity_book(runtime.roles, settings.home),
                                 home=settings.home)
        runtime.deps.channels.append(slack.channel)  # the graph posts approval requests to Slack
        loop = ServiceLoop(runtime, scenario=fast_scenario(root), interval_s=0, notifiers=[slack])
        step_until(loop, lambda: bool(runtime.store.approvals(status="pending")))
        with serve_app(create_app(settings, runtime=runtime, slack=slack, llm=None)) as base:
            yield Env(base, runtime, loop, slack_api)


def pending(env: Env) -> Any:
    return env.runtime.store.approvals(status="pending")[0]


def test_approval_request_posted_with_everything_a_human_needs(env: Env) -> None:
    row = pending(env)
    message = env.posted()
    assert message["channel"] == "C0OPS"
    text = json.dumps(message["blocks"])
    action = env.runtime.store.action(row.action_id)
    for needle in ("fraud-api", "retrain_model", json.dumps(action.params, sort_keys=True).replace('"', '\\"'),
                   action.risk, row.rule_id, row.expires_at.isoformat()[:16], row.incident_id, "[tc-"):
        assert needle in text, needle
    buttons = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [APPROVE, DENY]
    assert json.loads(buttons[0]["value"]) == {"approval_id": row.id, "action_id": row.action_id,
                                               "params_hash": row.params_hash}


def test_forged_signature_is_rejected(env: Env) -> None:
    body, headers = signed("not-the-secret", click("U_ALICE", APPROVE, env.value(), env.posted()["blocks"]))
    response = httpx.post(f"{env.base}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert pending(env).status == "pending"


def test_replayed_request_older_than_five_minutes_is_rejected(env: Env) -> None:
    old = int(time.time()) - 6 * 60
    response = env.post(click("U_ALICE", APPROVE, env.value(), env.posted()["blocks"]), timestamp=old)
    assert response.status_code == 401
    assert pending(env).status == "pending"


def test_unmapped_and_viewer_users_cannot_decide(env: Env) -> None:
    row = pending(env)
    for user in ("U_STRANGER", "U_VIC"):
        response = env.post(click(user, APPROVE, env.value(), env.posted()["blocks"]))
        assert response.status_code == 200  # acknowledged to Slack, but nothing recorded
        assert env.runtime.store.approval(row.id).status == "pending"
    refusals = [e.payload["refusal"] for e in env.runtime.store.audit_entries(row.incident_id) if e.kind == "approval.refused"]
    assert any("not mapped" in r for r in refusals) and any("needs role 'approver'" in r for r in refusals)
    told = [c["user"] for c in calls(env.slack, "chat.postEphemeral")]
    assert told == ["U_STRANGER", "U_VIC"]
    assert calls(env.slack, "chat.update") == []


def test_button_bound_to_other_parameters_is_refused(env: Env) -> None:
    tampered = json.dumps({**json.loads(env.value()), "params_hash": "0" * 64})
    assert env.post(click("U_ALICE", APPROVE, tampered, env.posted()["blocks"])).status_code == 200
    assert pending(env).status == "pending"


def test_approver_click_records_updates_the_message_and_the_loop_resolves(env: Env) -> None:
    row = pending(env)
    response = env.post(click("U_ALICE", APPROVE, env.value(), env.posted()["blocks"]))
    assert response.status_code == 200, response.text
    decided = env.runtime.store.approval(row.id)
    assert decided.status == "approved" and decided.decided_by == "alice"
    update = calls(env.slack, "chat.update")[-1]
    assert update["ts"] == "1700000000.000100" and "approved" in update["text"] and "alice" in update["text"]
    assert all(b["type"] != "actions" for b in update["blocks"])  # buttons gone
    env.loop.step()
    assert env.runtime.store.incident(row.incident_id).status == "resolved"


def test_after_the_loop_resolves_the_message_shows_the_verified_outcome(env: Env) -> None:
    row = env.runtime.store.approvals(status="approved")[0]
    final = calls(env.slack, "chat.update")[-1]  # the loop's step in the previous test closed the incident
    assert final["ts"] == "1700000000.000100" and final["channel"] == "C0OPS"
    assert f"Incident {row.incident_id} resolved" in final["text"] and "verified: recovered" in final["text"]
    text = json.dumps(final["blocks"])
    assert "is *resolved*" in text and "approved by alice" in text and "[tc-" in text
    assert all(b["type"] != "actions" for b in final["blocks"])
    cited = [w.strip("[]") for w in final["text"].split() if w.startswith("[tc-")]
    assert cited and all(env.runtime.store.tool_call(tc) is not None for tc in cited)
    kinds = [e.kind for e in env.runtime.store.audit_entries(row.incident_id)]
    assert kinds.count("slack.posted") == 1 and kinds.count("slack.outcome_posted") == 1
    before = len(calls(env.slack, "chat.update"))
    slack = SlackIntegration(SlackConfig(signing_secret=SECRET, bot_token="x", channel="C0OPS",
                                         api_url=f"{env.slack.url}/api/"),
                             env.runtime.store, rolebook=lambda: env.runtime.roles, home=env.runtime.settings.home)
    assert slack.incident_closed(row.incident_id) == []  # updated once
    assert len(calls(env.slack, "chat.update")) == before


def test_denied_request_ends_escalated_and_slack_down_then_up_updates_it(tmp_path: Path) -> None:
    settings = Settings.from_env(tmp_path / "home").model_copy(update={"memory_enabled": False})
    with serve_stub(Stub(slack_answer)) as slack_api, Runtime(settings) as runtime:
        config = SlackConfig(signing_secret=SECRET, bot_token="xoxb-test", channel="C0OPS", api_url=f"{slack_api.url}/api/")
        slack = SlackIntegration(config, runtime.store, rolebook=lambda: runtime.roles, home=settings.home)
        runtime.deps.channels.append(slack.channel)
        dead = WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
        offline = SlackIntegration(config, runtime.store, rolebook=lambda: runtime.roles, home=settings.home, client=dead)
        loop = ServiceLoop(runtime, scenario=fast_scenario(tmp_path), interval_s=0, notifiers=[offline])
        step_until(loop, lambda: bool(runtime.store.approvals(status="pending")))
        row = runtime.store.approvals(status="pending")[0]
        approvals.decide(runtime.store, row.id, user="alice", roles={"admin"}, approve=False, now=datetime.now(UTC))
        loop.step()  # resumes, escalates; Slack is down: logged, nothing raised, nothing recorded as updated
        assert runtime.store.incident(row.incident_id).status == "escalated"
        assert calls(slack_api, "chat.update") == []
        assert "slack.outcome_posted" not in [e.kind for e in runtime.store.audit_entries(row.incident_id)]
        assert slack.incident_closed(row.incident_id) == [row.id]  # Slack back: the message is brought up to date
        final = calls(slack_api, "chat.update")[-1]
        assert "escalated" in final["text"] and "rejected by alice" in final["text"]
        assert "not verified" in final["text"]


def test_slack_unreachable_loses_nothing(env: Env, tmp_path: Path) -> None:
    dead = WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    channel = SlackApprovalChannel(dead, "C0OPS", env.runtime.store)
    row = env.runtime.store.approvals()[0]
    action = env.runtime.store.action(row.action_id)
    started = time.monotonic()
    channel.post({"approval_id": row.id, "incident_id": row.incident_id, "risk": action.risk, "rule_id": row.rule_id,
                  "summary": row.summary, "expires_at": row.expires_at.isoformat(),
                  "action": {"action_id": action.id, "name": action.name, "service": action.service,
                             "params": action.params, "params_hash": action.params_hash}})  # must not raise
    assert time.monotonic() - started < 5
    # a click arriving while Slack's Web API is down still records the decision
    config = SlackConfig(signing_secret=SECRET, bot_token="x", channel="C0OPS")
    offline = SlackIntegration(config, env.runtime.store, rolebook=lambda: env.runtime.roles,
                               home=env.runtime.settings.home, client=dead)
    assert offline.click(click("U_ALICE", DENY, "{}", []), approve=False).startswith("refused: malformed")


def test_personal_data_never_leaves_for_slack() -> None:
    from opsgraph.integrations.slack import _plain, _text

    assert "alice@example.com" not in _text("paged alice@example.com about card 4111 1111 1111 1111")["text"]
    assert "[EMAIL]" in _text("contact alice@example.com")["text"]
    assert "+44 20 7946 0958" not in _plain("call +44 20 7946 0958")["text"]
