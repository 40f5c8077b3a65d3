"""The simulated world: a fleet of services ticking through a scenario; a MetricSource and a Platform.

    >>> from sims.scenario import load_scenario, BUNDLED
    >>> world = SimWorld.from_scenario(load_scenario(BUNDLED / "05_control_quiet_night.yaml"))
    >>> world.wait(30)
    >>> world.elapsed_min
    30.0

Time is in scenario minutes: 0 is the scenario's ``start``; a warm-up history of
``WARMUP_MIN`` minutes before it is generated at creation so windows are full at once.
Every tick draws from a generator seeded by (scenario seed, service, tick), so a run is
reproducible from its seed whatever actions are taken in it. Data older than
``history_min`` is dropped (ring buffer).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sims.actions import ACTIONS, FALLBACK_STORE, STANDBY
from sims.faults import FAULTS, Fault
from sims.scenario import Scenario, ServiceSpec, upstream_first
from sims.services import KINDS, ModelVersion, ServiceKind, trained_version
from sims.traffic import BASE_ERROR_RATE, PEAK_FACTOR, SLOTS_PER_REPLICA, Traffic, serve
from tools.actions import ActionResult, PlannedAction, PlatformError, TransientPlatformError
from tools.observations import PlatformEvent, ServiceInfo, ServiceReference, ServiceWindow

WARMUP_MIN = 240.0
ROWS_PER_TICK = (40, 120)  # sampled requests per 5-minute tick, night to peak
_EPS = 1e-9


@dataclass
class Tick:
    """One tick of one service: the sampled requests and the tick's metrics."""

    t0: float
    t1: float
    X: np.ndarray  # features as the pipeline delivered them (NaN = null)
    y: np.ndarray  # true labels (released label_delay_min after each request)
    pred: np.ndarray
    t: np.ndarray  # request minute of each row
    latency_ms: np.ndarray
    requests: int
    errors: int
    metrics: dict[str, float]


@dataclass
class ServiceState:
    """The mutable platform state of one service."""

    spec: ServiceSpec
    kind: ServiceKind
    index: int
    traffic: Traffic
    replicas: int
    base_rps: float
    versions: dict[str, ModelVersion]
    live_stack: list[str]  # versions in the order they went live; the last one serves
    healthy_latency_ms: np.ndarray
    ticks: deque[Tick]
    backlog: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    store: str | None = None  # the feature store it reads now
    prompts: list[str] = field(default_factory=lambda: ["p1"])  # prompt versions in the order they went live
    shifted_share: float = 0.0  # share of traffic moved away from the primary deployment
    shifted_to: str = "standby"  # where it went: the standby deployment or a registered version
    last_error_rate: float = 0.0
    last_latency_ms: np.ndarray = field(default_factory=lambda: np.zeros(1))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def live(self) -> ModelVersion:
        return self.versions[self.live_stack[-1]]

    def next_version(self) -> str:
        return f"v{len(self.versions) + 1}"


@dataclass
class _Executed:
    action: PlannedAction
    result: ActionResult
    token: Any
    undo: ActionResult | None = None


class SimWorld:
    """A scenario being played: implements ``tools.observations.MetricSource`` and ``tools.actions.Platform``."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        world_id: str | None = None,
        transient_failure_rate: float = 0.0,
        history_min: float = 24 * 60,
    ) -> None:
        if not 0.0 <= transient_failure_rate < 1.0:
            raise ValueError(f"transient_failure_rate must be in [0, 1), got {transient_failure_rate!r}")
        self.scenario = scenario
        self.world_id = world_id or f"{scenario.name}-{uuid.uuid4().hex[:8]}"
        self.transient_failure_rate = transient_failure_rate
        self.history_min = history_min
        self._tick = scenario.tick_min
        self._clock = -WARMUP_MIN  # scenario minute "now"
        self._generated = -WARMUP_MIN  # data exists up to this minute
        self._events: list[PlatformEvent] = []
        self._executed: dict[str, _Executed] = {}
        self._platform_rng = np.random.default_rng([scenario.seed, 4242])
        self._services: dict[str, ServiceState] = {}
        for i, spec in enumerate(scenario.services):
            self._services[spec.name] = self._build(i, spec)
        self._order = [s.name for s in upstream_first(scenario)]
        for f in scenario.faults:
            fault = FAULTS[f.type]
            on_store = fault.target_kind == "feature_store"
            for svc in self._services.values():
                if (svc.spec.feature_store if on_store else svc.name) == f.target:
                    svc.faults.append(fault(f, svc.kind))
        self.advance(WARMUP_MIN)

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, world_id: str | None = None, transient_failure_rate: float = 0.0
    ) -> SimWorld:
        """A fresh world at minute 0 of the scenario, with its warm-up history."""
        return cls(scenario, world_id=world_id, transient_failure_rate=transient_failure_rate)

    def _build(self, index: int, spec: ServiceSpec) -> ServiceState:
        kind = KINDS[spec.kind]()
        seed = self.scenario.seed * 1000 + index
        v1 = trained_version(kind.name, spec.model_seed)
        capacity = spec.replicas * SLOTS_PER_REPLICA * 1000.0 / kind.service_ms
        base_rps = spec.peak_utilization * capacity / PEAK_FACTOR
        healthy = serve(
            rate_rps=0.7 * base_rps,
            service_ms=kind.service_ms,
            replicas=spec.replicas,
            backlog=0.0,
            tick_s=60.0,
            samples=2000,
            rng=np.random.default_rng([seed, 77]),
        ).latency_ms
        return ServiceState(
            spec=spec,
            kind=kind,
            index=index,
            traffic=Traffic(self.scenario.seed, index, self.scenario.start),
            replicas=spec.replicas,
            base_rps=base_rps,
            versions={"v1": v1},
            live_stack=["v1"],
            healthy_latency_ms=healthy,
            store=spec.feature_store,
            last_latency_ms=healthy,
            ticks=deque(maxlen=int(np.ceil(self.history_min / self.scenario.tick_min)) + 1),
        )

    # ------------------------------------------------------------------ time

    @property
    def elapsed_min(self) -> float:
        """Minutes since the scenario's start."""
        return self._clock

    @property
    def done(self) -> bool:
        return self._clock >= self.scenario.duration_min - _EPS

    def now(self) -> datetime:
        return self.scenario.start + timedelta(minutes=self._clock)

    def _at(self, minute: float) -> datetime:
        return self.scenario.start + timedelta(minutes=minute)

    def advance(self, minutes: float) -> None:
        """Let ``minutes`` of simulated time pass, generating every tick that completes."""
        if minutes < 0:
            raise ValueError(f"cannot go back in time ({minutes} min)")
        target = self._clock + minutes
        while self._generated + self._tick <= target + _EPS:
            t0 = self._generated
            self._clock = max(self._clock, t0)  # what happens in a tick (a fault's deploy) happens at its start
            for name in self._order:
                self._step(self._services[name], t0)
            self._generated = t0 + self._tick
        self._clock = target

    def wait(self, minutes: float) -> None:
        self.advance(minutes)

    def _step(self, svc: ServiceState, t0: float) -> None:
        tick = self._tick
        t1 = t0 + tick
        mid = t0 + tick / 2
        for f in svc.faults:
            if not f.started and t0 >= f.spec.start_min - _EPS:
                f.started = True
                f.on_start(self, svc)
        k = int(round((t0 + WARMUP_MIN) / tick))
        rng = np.random.default_rng([self.scenario.seed, svc.index, k])
        levels = [(f, f.level(mid)) for f in svc.faults if f.applies(svc)]
        levels = [(f, lv) for f, lv in levels if lv > 0]

        def combined(hook: str) -> float:
            return float(np.prod([getattr(f, hook)(lv) for f, lv in levels]))

        factor = svc.traffic.factor(mid, rng)
        rate = svc.base_rps * factor * combined("rate_factor")
        n = max(1, int(np.clip(round(80 * factor), *ROWS_PER_TICK) * tick / 5.0))

        X = svc.kind.sample(rng, n)
        for f, lv in levels:
            X = f.shift(X, lv, rng)

        def concept(z: np.ndarray, logit: np.ndarray) -> np.ndarray:
            for f, lv in levels:
                logit = f.concept(z, logit, lv)
            return logit

        y = svc.kind.label(X, rng, concept)
        Xp = X
        for f, lv in levels:
            Xp = f.pipeline(Xp, lv, rng)
        if svc.store == FALLBACK_STORE:  # the fallback serves slightly stale values
            cols = svc.kind.index(svc.kind.null_features)
            Xp = Xp.copy()
            Xp[:, cols] += rng.normal(0.0, 0.05, (n, len(cols))) * svc.kind.stds[cols]
        pred = svc.live.score(Xp)
        if svc.shifted_share > 0 and svc.shifted_to != STANDBY:
            moved = rng.random(n) < svc.shifted_share
            if moved.any():
                pred[moved] = svc.versions[svc.shifted_to].score(Xp[moved])
        for f, lv in levels:
            pred = f.scores(pred, lv)
        for f, lv in levels:
            y = f.observed_labels(y, pred, lv, rng)
        t = np.sort(rng.uniform(t0, t1, n))

        load = serve(
            rate_rps=rate,
            service_ms=svc.kind.service_ms * combined("work_factor"),
            replicas=svc.replicas,
            capacity_factor=combined("capacity_factor"),
            backlog=svc.backlog,
            tick_s=tick * 60.0,
            samples=max(n, 200),
            rng=rng,
        )
        svc.backlog = load.backlog
        latency = load.latency_ms
        busy = min(1.0, load.utilization)
        jitter = rng.normal(0.0, 0.01, 3)
        memory = 0.45 + 0.1 * busy + jitter[2] + sum(f.memory(lv) for f, lv in levels)
        # Extra failures: the fault's own (unless traffic moved to the standby), OOM kills,
        # and whatever the services this one calls failed.
        failing = sum(f.error_rate(lv) for f, lv in levels) * (1.0 - svc.shifted_share)
        failing += float(np.clip((memory - 0.9) * 3.0, 0.0, 0.5))
        for name in svc.spec.depends_on:
            up = self._services[name]
            failing += max(0.0, up.last_error_rate - BASE_ERROR_RATE)
            excess = rng.choice(up.last_latency_ms, len(latency)) - np.percentile(up.healthy_latency_ms, 95)
            latency = latency + np.clip(excess, 0.0, None)
        errors = load.errors
        if failing > 0:
            errors = min(load.requests, errors + int(rng.binomial(load.requests, min(1.0, failing))))
        on_gpu = svc.kind.device == "gpu"
        metrics = {
            "minute": t1,
            "p95_ms": float(np.percentile(latency, 95)),
            "rps": load.requests / (tick * 60.0),
            "error_rate": errors / max(load.requests, 1),
            "gpu_util": float(np.clip(busy + jitter[0], 0, 1)) if on_gpu else 0.0,
            "cpu_util": float(np.clip((busy if not on_gpu else 0.15 + 0.25 * busy) + jitter[1], 0, 1)),
            "mem_util": float(np.clip(memory, 0, 1)),
            "utilization": load.utilization,
            "replicas": float(svc.replicas),
        }
        svc.last_error_rate = metrics["error_rate"]
        svc.last_latency_ms = latency
        svc.ticks.append(Tick(t0, t1, Xp, y, pred, t, latency[:n], load.requests, errors, metrics))

    # ------------------------------------------------------------------ MetricSource

    def _svc(self, service: str) -> ServiceState:
        try:
            return self._services[service]
        except KeyError:
            raise PlatformError(f"unknown service {service!r}; services: {sorted(self._services)}") from None

    def services(self) -> list[ServiceInfo]:
        return [
            ServiceInfo(
                name=s.name,
                kind=s.spec.kind,
                environment=s.spec.environment,
                tier=s.spec.tier,
                replicas=s.replicas,
                min_replicas=1,
                max_replicas=s.spec.max_replicas,
                slo_p95_ms=s.spec.slo_p95_ms,
                model_version=s.live.version,
                model_versions=sorted(s.versions, key=lambda v: int(v[1:])),
                pipeline=f"{s.name}.pipeline",
                feature_store=s.store,
                depends_on=list(s.spec.depends_on),
            )
            for s in self._services.values()
        ]

    def reference(self, service: str) -> ServiceReference:
        svc = self._svc(service)
        live = svc.live
        return ServiceReference(
            service=service,
            feature_names=svc.kind.feature_names,
            features=live.reference_features.copy(),
            predictions=live.reference_predictions.copy(),
            labels=live.reference_labels.copy(),
            latency_ms=svc.healthy_latency_ms.copy(),
        )

    def rows(self, service: str, minutes: float) -> dict[str, np.ndarray]:
        """Every sampled request of the last ``minutes``: X, y (true labels), pred, t, latency_ms."""
        svc = self._svc(service)
        since = self._clock - minutes
        ticks = [tk for tk in svc.ticks if tk.t1 > since]
        d = len(svc.kind.features)
        if not ticks:
            empty = np.empty(0)
            return {"X": np.empty((0, d)), "y": empty.astype(np.int8), "pred": empty, "t": empty, "latency_ms": empty}
        t = np.concatenate([tk.t for tk in ticks])
        keep = (t >= since) & (t < self._clock)
        return {
            "X": np.concatenate([tk.X for tk in ticks])[keep],
            "y": np.concatenate([tk.y for tk in ticks])[keep],
            "pred": np.concatenate([tk.pred for tk in ticks])[keep],
            "t": t[keep],
            "latency_ms": np.concatenate([tk.latency_ms for tk in ticks])[keep],
        }

    def window(self, service: str, minutes: float) -> ServiceWindow:
        if minutes <= 0:
            raise ValueError(f"window minutes must be positive, got {minutes}")
        svc = self._svc(service)
        minutes = min(minutes, self.history_min)
        rows = self.rows(service, minutes)
        matured = rows["t"] + svc.spec.label_delay_min <= self._clock
        ticks = [tk for tk in svc.ticks if tk.t0 >= self._clock - minutes - _EPS and tk.t1 <= self._clock + _EPS]
        names = list(ticks[0].metrics) if ticks else []
        return ServiceWindow(
            service=service,
            start=self._at(self._clock - minutes),
            end=self.now(),
            feature_names=svc.kind.feature_names,
            features=rows["X"],
            predictions=rows["pred"],
            labels=rows["y"][matured].astype(np.int8),
            labelled_predictions=rows["pred"][matured],
            latency_ms=rows["latency_ms"],
            errors=sum(tk.errors for tk in ticks),
            requests=sum(tk.requests for tk in ticks),
            metrics={m: np.array([tk.metrics[m] for tk in ticks]) for m in names},
        )

    def events(self, service: str, since: datetime) -> list[PlatformEvent]:
        self._svc(service)
        return [e for e in self._events if e.service == service and e.at >= since]

    # ------------------------------------------------------------------ state

    def state(self, service: str) -> dict[str, Any]:
        """The platform state of a service (JSON-able)."""
        svc = self._svc(service)
        last = svc.ticks[-1].metrics if svc.ticks else {}
        return {
            "service": service,
            "replicas": svc.replicas,
            "max_replicas": svc.spec.max_replicas,
            "model_version": svc.live.version,
            "model_versions": sorted(svc.versions, key=lambda v: int(v[1:])),
            "pipeline_healthy": not any(
                f.component == "pipeline" and f.applies(svc) and f.level(self._clock) > 0 for f in svc.faults
            ),
            "feature_store": svc.store,
            "prompt_version": svc.prompts[-1] if svc.kind.name == "chat" else None,
            "traffic_shifted": svc.shifted_share,
            "backlog": round(svc.backlog, 3),
            "utilization": last.get("utilization"),
            "p95_ms": last.get("p95_ms"),
            "mem_util": last.get("mem_util"),
            "error_rate": last.get("error_rate"),
        }

    def active_faults(self) -> list[dict[str, Any]]:
        """Faults acting now (started, not ended, not cleared, not routed around), one entry per fault."""
        out: dict[int, dict[str, Any]] = {}
        for svc in self._services.values():
            for f in svc.faults:
                lv = f.level(self._clock)
                if lv > 0 and f.applies(svc):
                    entry = out.setdefault(
                        id(f.spec),
                        {
                            "type": f.type,
                            "target": f.spec.target,
                            "start_min": f.spec.start_min,
                            "magnitude": f.spec.magnitude,
                            "level": lv,
                            "layer": f.layer,
                            "component": f.ground_truth()["root_cause_component"],
                            "services": [],
                        },
                    )
                    entry["services"].append(svc.name)
        return list(out.values())

    def record(self, svc: ServiceState, kind: str, detail: dict[str, Any]) -> None:
        """Append a platform event at the current time."""
        self._events.append(PlatformEvent(at=self.now(), service=svc.name, kind=kind, detail=detail))

    def deploy(self, svc: ServiceState, version: ModelVersion, *, kind: str, detail: dict[str, Any]) -> None:
        """Register ``version`` and make it live, recording an event of ``kind``."""
        previous = svc.live.version
        svc.versions[version.version] = version
        svc.live_stack.append(version.version)
        self.record(svc, kind, {"from": previous, "to": version.version, **detail})

    def clear_faults(self, service: str, action: str) -> list[Fault]:
        """Clear the service's started faults whose cause ``action`` removes; the faults cleared."""
        svc = self._svc(service)
        cleared = []
        for f in svc.faults:
            if f.cleared_by == action and f.level(self._clock) > 0:
                f.cleared_at = self._clock
                cleared.append(f)
        return cleared

    def outputs(self, service: str, minutes: float) -> list[str]:
        """Response texts of a generative service's requests in the last ``minutes`` (PlatformError otherwise)."""
        return self._render(service, self.rows(service, minutes)["X"])

    def reference_outputs(self, service: str) -> list[str]:
        """Response texts of the live model's reference rows (PlatformError for a non-generative service)."""
        return self._render(service, self._svc(service).live.reference_features)

    def _render(self, service: str, X: np.ndarray) -> list[str]:
        svc = self._svc(service)
        if not hasattr(svc.kind, "render"):
            raise PlatformError(f"{service} ({svc.kind.name}) is not a generative service")
        return svc.kind.render(X, seed=self.scenario.seed)

    # ------------------------------------------------------------------ Platform

    def supported_actions(self) -> list[str]:
        return list(ACTIONS)

    def _flaky(self, what: str, action: PlannedAction) -> None:
        if self.transient_failure_rate and self._platform_rng.random() < self.transient_failure_rate:
            raise TransientPlatformError(f"{what} {action.name} on {action.service}: platform busy (injected), retry")

    def execute(self, action: PlannedAction) -> ActionResult:
        done = self._executed.get(action.action_id)
        if done is not None:
            if done.action.params_hash != action.params_hash:
                raise PlatformError(f"action_id {action.action_id} was already used for different parameters")
            return done.result
        impl = ACTIONS.get(action.name)
        if impl is None:
            raise PlatformError(f"unsupported action {action.name!r}; supported: {self.supported_actions()}")
        svc = self._svc(action.service)
        impl.check(self, svc, action.params)
        self._flaky("execute", action)
        before = self.state(svc.name)
        token = impl.apply(self, svc, dict(action.params), action.action_id)
        after = self.state(svc.name)
        result = ActionResult(
            action_id=action.action_id,
            name=action.name,
            service=svc.name,
            ok=True,
            detail=_describe(action.name, before, after),
            before=before,
            after=after,
        )
        self._executed[action.action_id] = _Executed(action, result, token)
        return result

    def undo(self, action: PlannedAction) -> ActionResult:
        done = self._executed.get(action.action_id)
        if done is None:
            raise PlatformError(f"action {action.action_id} ({action.name}) was never executed here; nothing to undo")
        if done.undo is not None:
            return done.undo
        self._flaky("undo", action)
        svc = self._svc(done.action.service)
        before = self.state(svc.name)
        ACTIONS[done.action.name].revert(self, svc, done.token, action.action_id)
        after = self.state(svc.name)
        done.undo = ActionResult(
            action_id=action.action_id,
            name=done.action.name,
            service=svc.name,
            ok=True,
            detail="undo: " + _describe(done.action.name, before, after),
            before=before,
            after=after,
        )
        return done.undo

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> None:
        """Pickle the world atomically (temp file in the same folder, then os.replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> SimWorld:
        """A world saved by :meth:`save` (only load files you wrote: this is pickle)."""
        with open(path, "rb") as fh:
            world = pickle.load(fh)
        if not isinstance(world, cls):
            raise TypeError(f"{path} holds a {type(world).__name__}, not a SimWorld")
        return world


def _describe(name: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [f"{k}: {before[k]} -> {after[k]}" for k in ("replicas", "model_version", "pipeline_healthy") if before[k] != after[k]]
    return f"{name}: " + ("; ".join(changed) if changed else "no change to replicas, model or pipeline")
