"""OpsGraph simulator: a fleet of AI services with real models, a fault library, scenarios and a platform.

    >>> from sims import SimWorld, load_scenarios
    >>> world = SimWorld.from_scenario(load_scenarios()[0])

``SimWorld`` implements ``tools.observations.MetricSource`` and ``tools.actions.Platform``.
"""

from sims.actions import ACTIONS
from sims.faults import FAULTS, Fault
from sims.scenario import (
    BUNDLED,
    FaultSpec,
    GroundTruth,
    Scenario,
    ScenarioError,
    ServiceSpec,
    load_scenario,
    load_scenarios,
    parse_scenario,
)
from sims.services import KINDS, ModelVersion, ServiceKind
from sims.world import SimWorld

__all__ = [
    "ACTIONS",
    "BUNDLED",
    "FAULTS",
    "KINDS",
    "Fault",
    "FaultSpec",
    "GroundTruth",
    "ModelVersion",
    "Scenario",
    "ScenarioError",
    "ServiceKind",
    "ServiceSpec",
    "SimWorld",
    "load_scenario",
    "load_scenarios",
    "parse_scenario",
]
