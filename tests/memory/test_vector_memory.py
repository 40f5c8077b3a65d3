"""Incident memory on a real chromadb PersistentClient in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.embedding import HashingEmbedding
from memory.vector import IncidentMemory, IncidentMemoryRecord

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def record(incident_id: str, symptoms: str, actions: list[str], outcome: str, *, layer: str = "data",
           root_cause: str = "", kinds: tuple[str, ...] = (), days: int = 0) -> IncidentMemoryRecord:
    return IncidentMemoryRecord(
        incident_id=incident_id, service="fraud", service_kind="classifier", layer=layer, root_cause=root_cause,
        symptoms=symptoms, finding_kinds=list(kinds), actions=actions, outcome=outcome,
        summary=f"{root_cause or 'unknown'}; did {', '.join(actions)}", closed_at=T0 + timedelta(days=days))


HISTORY = [
    record("inc-drift-1", "feature drift on column age after upstream schema change, PSI 0.41",
           ["restart_pipeline"], "resolved", root_cause="broken feature pipeline", kinds=("feature_drift",)),
    record("inc-drift-2", "PSI high on feature age and income after schema change in upstream table",
           ["retrain_model"], "made_worse", root_cause="broken feature pipeline", kinds=("feature_drift",), days=1),
    record("inc-drift-3", "feature age drifted, null rate up after upstream schema change",
           ["restart_pipeline", "escalate"], "resolved", root_cause="broken feature pipeline",
           kinds=("feature_drift", "null_rate"), days=2),
    record("inc-lat-1", "p95 latency spike, GPU saturation, request queue growing", ["scale_up"], "resolved",
           layer="infrastructure", root_cause="capacity", kinds=("latency",), days=3),
    record("inc-prompt-1", "semantic drift of generated answers after a prompt version change",
           ["pin_prompt_version"], "resolved", layer="application", root_cause="prompt change", days=4),
    record("inc-feedback-1", "label distribution shift from bot traffic contaminating the feedback loop",
           ["quarantine_feedback"], "undone", layer="data", root_cause="feedback contamination", days=5),
]
DRIFT_QUERY = "PSI jumped on feature age right after an upstream schema change"


@pytest.fixture
def memory(tmp_path) -> IncidentMemory:
    memory = IncidentMemory(tmp_path / "chroma")
    for item in HISTORY:
        memory.remember(item)
    return memory


def test_collection_uses_cosine_space_and_the_offline_embedding(memory):
    config = memory.collection.configuration
    assert config["hnsw"]["space"] == "cosine"
    assert isinstance(config["embedding_function"], HashingEmbedding)


def test_similar_finds_the_incidents_that_looked_alike(memory):
    hits = memory.similar(DRIFT_QUERY, k=3)
    assert {hit.incident_id for hit in hits} == {"inc-drift-1", "inc-drift-2", "inc-drift-3"}
    assert all(0.0 <= hit.similarity <= 1.0 for hit in hits)
    assert [hit.similarity for hit in hits] == sorted((hit.similarity for hit in hits), reverse=True)
    assert memory.similar("GPU saturation and p95 latency spike", k=1)[0].incident_id == "inc-lat-1"


def test_similar_returns_the_fields_the_diagnosis_needs(memory):
    hit = memory.similar("bot traffic contaminating feedback labels", k=1)[0]
    assert (hit.incident_id, hit.layer, hit.root_cause, hit.actions, hit.outcome) == (
        "inc-feedback-1", "data", "feedback contamination", ["quarantine_feedback"], "undone")
    assert hit.closed_at == T0 + timedelta(days=5)


def test_identical_text_is_similarity_one(memory):
    assert memory.similar(HISTORY[3].document(), k=1)[0].similarity == pytest.approx(1.0, abs=1e-4)


def test_exclude_id_leaves_out_the_incident_itself(memory):
    hits = memory.similar(HISTORY[0].document(), k=10, exclude_id="inc-drift-1")
    assert "inc-drift-1" not in {hit.incident_id for hit in hits}
    assert len(hits) == len(HISTORY) - 1


def test_k_larger_than_the_collection_returns_everything(memory):
    assert len(memory.similar("anything", k=50)) == len(HISTORY)


def test_empty_memory_returns_nothing(tmp_path):
    memory = IncidentMemory(tmp_path / "empty")
    assert memory.similar("latency", k=5) == []
    assert memory.action_track_record("latency") == {}


def test_remember_upserts_by_incident_id(memory):
    updated = HISTORY[0].model_copy(update={"outcome": "undone", "actions": ["restart_pipeline", "rollback_model"]})
    memory.remember(updated)
    assert memory.count() == len(HISTORY)
    assert memory.get("inc-drift-1") == updated


def test_record_round_trips_through_flat_metadata(memory):
    meta = HISTORY[2].metadata()
    assert all(isinstance(value, (str, int, float, bool)) for value in meta.values())
    assert memory.get("inc-drift-3") == HISTORY[2]
    assert memory.get("inc-nope") is None


def test_action_track_record_prefers_what_resolved_similar_incidents(memory):
    track = memory.action_track_record(DRIFT_QUERY, k=3)
    assert track["restart_pipeline"]["resolved"] == 2 and track["restart_pipeline"]["failed"] == 0
    assert track["retrain_model"] == {"resolved": 0, "failed": 1, "incidents": ["inc-drift-2"],
                                      "score": pytest.approx(track["retrain_model"]["score"])}
    assert track["retrain_model"]["score"] < 0 < track["restart_pipeline"]["score"]
    assert sorted(track["restart_pipeline"]["incidents"]) == ["inc-drift-1", "inc-drift-3"]
    assert set(track) == {"restart_pipeline", "retrain_model", "escalate"}


def test_forget_removes_an_incident(memory):
    memory.forget("inc-lat-1")
    assert memory.get("inc-lat-1") is None and memory.count() == len(HISTORY) - 1


def test_in_memory_when_no_path_is_given():
    memory = IncidentMemory(collection="scratch-test")
    memory.remember(HISTORY[3])
    assert memory.similar("GPU latency", k=1)[0].incident_id == "inc-lat-1"


REOPEN = """
import json, sys
from memory.vector import IncidentMemory
memory = IncidentMemory(sys.argv[1])
hits = memory.similar(sys.argv[2], k=2)
print(json.dumps({"count": memory.count(), "ids": [h.incident_id for h in hits]}))
"""


def test_a_second_process_reopens_and_queries_the_collection(memory, tmp_path):
    del memory  # the fixture wrote the collection; the child opens the same folder
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", REOPEN, str(tmp_path / "chroma"), "GPU saturation latency spike"],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] == len(HISTORY) and result["ids"][0] == "inc-lat-1"


def test_records_need_a_known_outcome():
    with pytest.raises(ValueError, match="outcome"):
        record("x", "y", [], "fixed")
