"""What each platform action really does to the simulated fleet, and how it is undone.

One class per action: ``check`` validates the parameters against the service (PlatformError
on bad ones), ``apply`` changes the world and returns a token, ``revert`` uses the token to
put things back. An action that does not address the active fault has no healing effect:
scaling does not fix nulls, restarting the pipeline does not fix a bad model.

| action | params | effect | undo |
|---|---|---|---|
| rollback_model | to_version? | the version live before the current one (or ``to_version``) goes live | redeploy the version rolled back from |
| retrain_model | window_min? (240), reference_min? (60) | fit a new version on matured labelled rows of the last ``window_min``; deploy it; its reference becomes the last ``reference_min`` of traffic | redeploy the previous version (and its reference) |
| scale_up / scale_down | replicas? (target count) | set the replica count | set the previous count |
| restart_pipeline | pipeline? | clear pipeline faults (nulls, schema change) that have started | nothing to undo; records an event |
| switch_feature_store | store? ("fallback") | read features from another store (the fallback is slightly stale) | switch back |
| shift_traffic | to_version? ("standby"), share? (1.0) | serve ``share`` of requests from the standby deployment or a registered version | previous split |
| quarantine_feedback | since? | stop contaminated feedback from reaching the labels | release it again |
| pin_prompt_version | version? (the previous one) | a generative service serves a known-good prompt | unpin |
| escalate | message?, team? | nothing (pages a human); records an event | nothing |
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sims.services import ModelVersion, fit_estimator
from tools.actions import PlatformError

if TYPE_CHECKING:
    from sims.world import ServiceState, SimWorld


class SimAction:
    """Base class of an action on the simulated platform."""

    name: ClassVar[str]
    params: ClassVar[dict[str, type | tuple[type, ...]]] = {}

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        unknown = set(params) - set(self.params)
        if unknown:
            raise PlatformError(f"{self.name}: unknown params {sorted(unknown)}; allowed: {sorted(self.params)}")
        for key, typ in self.params.items():
            if key in params and (not isinstance(params[key], typ) or isinstance(params[key], bool)):
                raise PlatformError(f"{self.name}: param {key!r} must be {typ}, got {params[key]!r}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        raise NotImplementedError

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        raise NotImplementedError


class _ModelChange(SimAction):
    """An action that changes the live model version; its token is the live stack it replaced, which undo restores."""

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        previous = svc.live.version
        svc.live_stack[:] = token
        world.record(svc, "deploy", {"from": previous, "to": svc.live.version, "undo_of": action_id})


class RollbackModel(_ModelChange):
    name = "rollback_model"
    params = {"to_version": str}

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        target = params.get("to_version")
        if target is None and len(svc.live_stack) < 2:
            raise PlatformError(f"rollback_model: {svc.name} has no earlier live version than {svc.live.version}")
        if target is not None and target not in svc.versions:
            raise PlatformError(f"rollback_model: unknown version {target!r}; registered: {sorted(svc.versions)}")
        if target is not None and target == svc.live.version:
            raise PlatformError(f"rollback_model: {target} is already live on {svc.name}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        token = list(svc.live_stack)
        target = params.get("to_version") or svc.live_stack[-2]
        previous = svc.live.version
        if target in svc.live_stack:
            del svc.live_stack[len(svc.live_stack) - svc.live_stack[::-1].index(target) :]
        else:
            svc.live_stack.append(target)
        world.record(svc, "rollback", {"from": previous, "to": target, "action_id": action_id})
        return token


class RetrainModel(_ModelChange):
    name = "retrain_model"
    params = {"window_min": (int, float), "reference_min": (int, float)}
    min_rows = 200

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        for key in ("window_min", "reference_min"):
            if key in params and not 0 < params[key] <= world.history_min:
                raise PlatformError(f"retrain_model: {key} must be in (0, {world.history_min}], got {params[key]}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        window = float(params.get("window_min", 240))
        reference = float(params.get("reference_min", 60))
        rows = world.rows(svc.name, window)
        X, y = rows["X"], rows["y"]
        train = rows["t"] + svc.spec.label_delay_min <= world.elapsed_min  # labels have arrived
        if train.sum() < self.min_rows:
            raise PlatformError(
                f"retrain_model: only {int(train.sum())} matured labelled rows in the last {window:g} min "
                f"(need {self.min_rows})"
            )
        seed = world.scenario.seed + len(svc.versions)
        estimator, impute = fit_estimator(svc.kind, X[train], y[train], seed=seed)
        # The new reference is the regime the model now serves: the latest traffic with the
        # rows' true labels (the simulator's stand-in for a validation set). Rows that were
        # also training rows are scored by a model fitted without them, so the reference
        # accuracy stays honest.
        ref = (rows["t"] >= world.elapsed_min - reference) & ~np.isnan(X).any(axis=1)
        scores = estimator.predict_proba(np.where(np.isnan(X), impute, X))[:, 1]
        both = ref & train
        if both.any() and (train & ~ref).sum() >= self.min_rows:
            held_out, _ = fit_estimator(svc.kind, X[train & ~ref], y[train & ~ref], seed=seed)
            scores[both] = held_out.predict_proba(X[both])[:, 1]
        version = ModelVersion(
            version=svc.next_version(),
            estimator=estimator,
            impute=impute,
            reference_features=X[ref],
            reference_predictions=scores[ref],
            reference_labels=y[ref],
            created_at=world.now(),
            note=f"retrained on {int(train.sum())} rows of the last {window:g} min",
        )
        token = list(svc.live_stack)
        world.deploy(
            svc, version, kind="retrain", detail={"rows": int(train.sum()), "window_min": window, "action_id": action_id}
        )
        return token


class _Scale(SimAction):
    params = {"replicas": int}

    def target(self, svc: ServiceState, params: dict[str, Any]) -> int:
        raise NotImplementedError

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        n = self.target(svc, params)
        if not 1 <= n <= svc.spec.max_replicas:
            raise PlatformError(f"{self.name}: replicas must be in [1, {svc.spec.max_replicas}], got {n}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        token = svc.replicas
        svc.replicas = self.target(svc, params)
        world.record(svc, "scale", {"from": token, "to": svc.replicas, "action_id": action_id})
        return token

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        previous = svc.replicas
        svc.replicas = token
        world.record(svc, "scale", {"from": previous, "to": token, "undo_of": action_id})


class ScaleUp(_Scale):
    name = "scale_up"

    def target(self, svc: ServiceState, params: dict[str, Any]) -> int:
        n = params.get("replicas", min(svc.spec.max_replicas, 2 * svc.replicas))
        if n < svc.replicas:
            raise PlatformError(f"scale_up: target {n} is below the current {svc.replicas} replicas; use scale_down")
        return n


class ScaleDown(_Scale):
    name = "scale_down"

    def target(self, svc: ServiceState, params: dict[str, Any]) -> int:
        n = params.get("replicas", max(1, svc.replicas // 2))
        if n > svc.replicas:
            raise PlatformError(f"scale_down: target {n} is above the current {svc.replicas} replicas; use scale_up")
        return n


class _ClearFault(SimAction):
    """Remove the cause of the service's faults that this action clears.

    ``reversible_cause``: whether undo brings the cleared faults back (releasing quarantined
    feedback does; a restarted pipeline stays restarted).
    """

    event: ClassVar[str]
    reversible_cause: ClassVar[bool] = False

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        cleared = world.clear_faults(svc.name, self.name)
        world.record(svc, self.event, {"cleared": [f.type for f in cleared], "action_id": action_id, **params})
        return cleared

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        if self.reversible_cause:
            for f in token:
                f.cleared_at = None
            world.record(svc, "undo", {"action": self.name, "undo_of": action_id, "restored": [f.type for f in token]})
        else:
            world.record(svc, "undo", {"action": self.name, "undo_of": action_id, "note": "harmless; nothing to undo"})


class RestartPipeline(_ClearFault):
    name = "restart_pipeline"
    params = {"pipeline": str}
    event = "restart"

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        if params.get("pipeline", f"{svc.name}.pipeline") != f"{svc.name}.pipeline":
            raise PlatformError(f"restart_pipeline: {svc.name} runs pipeline {svc.name}.pipeline, not {params['pipeline']!r}")


class QuarantineFeedback(_ClearFault):
    name = "quarantine_feedback"
    params = {"since": str}
    event = "quarantine"
    reversible_cause = True

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        if "since" in params:
            try:
                datetime.fromisoformat(params["since"])
            except ValueError:
                raise PlatformError(f"quarantine_feedback: since must be an ISO time, got {params['since']!r}") from None


class PinPromptVersion(_ClearFault):
    name = "pin_prompt_version"
    params = {"version": str}
    event = "prompt_pin"
    reversible_cause = True

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        if svc.kind.name != "chat":
            raise PlatformError(f"pin_prompt_version: {svc.name} ({svc.kind.name}) has no prompts")
        version = params.get("version")
        if version is None and len(svc.prompts) < 2:
            raise PlatformError(f"pin_prompt_version: {svc.name} has no earlier prompt version than {svc.prompts[-1]}")
        if version is not None and version not in svc.prompts:
            raise PlatformError(f"pin_prompt_version: unknown prompt version {version!r}; known: {svc.prompts}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        previous = list(svc.prompts)
        pinned = params.get("version") or svc.prompts[-2]
        svc.prompts.append(pinned)
        # Only a version that predates the drift's prompt release is known-good.
        drifted_at = previous.index(pinned) + 1 < len(previous)
        cleared = world.clear_faults(svc.name, self.name) if drifted_at else []
        world.record(svc, self.event, {"from": previous[-1], "to": pinned, "cleared": [f.type for f in cleared], "action_id": action_id})
        return previous, cleared

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        previous, cleared = token
        pinned = svc.prompts[-1]
        svc.prompts[:] = previous
        for f in cleared:
            f.cleared_at = None
        world.record(svc, "prompt_pin", {"from": pinned, "to": previous[-1], "undo_of": action_id})


class SwitchFeatureStore(SimAction):
    name = "switch_feature_store"
    params = {"store": str}

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        if svc.spec.feature_store is None:
            raise PlatformError(f"switch_feature_store: {svc.name} reads no feature store")
        known = {FALLBACK_STORE} | {s.feature_store for s in world.scenario.services if s.feature_store}
        store = params.get("store", FALLBACK_STORE)
        if store not in known:
            raise PlatformError(f"switch_feature_store: unknown store {store!r}; known: {sorted(known)}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        token = svc.store
        svc.store = params.get("store", FALLBACK_STORE)
        world.record(svc, "store_switch", {"from": token, "to": svc.store, "action_id": action_id})
        return token

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        previous, svc.store = svc.store, token
        world.record(svc, "store_switch", {"from": previous, "to": token, "undo_of": action_id})


class ShiftTraffic(SimAction):
    """Move ``share`` of traffic to ``to_version`` (a registered model version) or, by default, the standby deployment."""

    name = "shift_traffic"
    params = {"to_version": str, "share": (int, float)}

    def check(self, world: SimWorld, svc: ServiceState, params: dict[str, Any]) -> None:
        super().check(world, svc, params)
        if not 0.0 <= params.get("share", 1.0) <= 1.0:
            raise PlatformError(f"shift_traffic: share must be in [0, 1], got {params['share']}")
        version = params.get("to_version", STANDBY)
        if version != STANDBY and version not in svc.versions:
            raise PlatformError(f"shift_traffic: unknown target {version!r}; {STANDBY!r} or one of {sorted(svc.versions)}")

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        token = (svc.shifted_share, svc.shifted_to)
        svc.shifted_share = float(params.get("share", 1.0))
        svc.shifted_to = params.get("to_version", STANDBY)
        world.record(svc, "traffic_shift", {"to": svc.shifted_to, "share": svc.shifted_share, "action_id": action_id})
        return token

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        svc.shifted_share, svc.shifted_to = token
        world.record(svc, "traffic_shift", {"to": svc.shifted_to, "share": svc.shifted_share, "undo_of": action_id})


class Escalate(SimAction):
    """Page a human: changes nothing on the platform, records an event."""

    name = "escalate"
    params = {"message": str, "team": str}

    def apply(self, world: SimWorld, svc: ServiceState, params: dict[str, Any], action_id: str) -> Any:
        world.record(svc, "escalation", {"action_id": action_id, **params})

    def revert(self, world: SimWorld, svc: ServiceState, token: Any, action_id: str) -> None:
        world.record(svc, "undo", {"action": self.name, "undo_of": action_id, "note": "nothing to undo"})


ACTIONS: dict[str, SimAction] = {
    a.name: a
    for a in (
        RollbackModel(),
        RetrainModel(),
        ScaleUp(),
        ScaleDown(),
        RestartPipeline(),
        SwitchFeatureStore(),
        ShiftTraffic(),
        QuarantineFeedback(),
        PinPromptVersion(),
        Escalate(),
    )
}

FALLBACK_STORE = "fallback"
STANDBY = "standby"
