"""Vector memory of closed incidents (chromadb): find similar past incidents and how their actions turned out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

import chromadb
from chromadb.config import Settings
from chromadb.errors import NotFoundError
from pydantic import BaseModel, Field

from memory.embedding import HashingEmbedding, default_embedding

Outcome = Literal["resolved", "made_worse", "undone", "escalated", "pending"]
FAILED_OUTCOMES = frozenset({"made_worse", "undone"})
# HNSW is approximate; a wide search keeps small, skewed collections from missing a true neighbour.
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200}
_LIST_SEP = ","

__all__ = ["FAILED_OUTCOMES", "HashingEmbedding", "IncidentMemory", "IncidentMemoryRecord", "SimilarIncident"]


class IncidentMemoryRecord(BaseModel):
    """A closed (or still pending) incident as remembered: what it looked like, what was done, how it ended."""

    incident_id: str
    service: str
    service_kind: str = ""
    layer: str = ""
    root_cause: str = ""
    symptoms: str = ""
    finding_kinds: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    failed_causes: list[str] = Field(default_factory=list)  # causes whose fix was tried and undone first
    outcome: Outcome
    summary: str = ""
    closed_at: datetime

    def document(self) -> str:
        """The text that is embedded: how the incident looked and what it turned out to be."""
        return "\n".join(part for part in (
            self.symptoms, " ".join(self.finding_kinds), self.service_kind, self.layer, self.root_cause, self.summary,
        ) if part)

    def metadata(self) -> dict[str, str | float]:
        """Chroma metadata must be flat scalars: lists are joined."""
        return {
            "incident_id": self.incident_id, "service": self.service, "service_kind": self.service_kind,
            "layer": self.layer, "root_cause": self.root_cause, "symptoms": self.symptoms,
            "finding_kinds": _LIST_SEP.join(self.finding_kinds), "actions": _LIST_SEP.join(self.actions),
            "failed_causes": _LIST_SEP.join(self.failed_causes),
            "outcome": self.outcome, "summary": self.summary, "closed_at": self.closed_at.isoformat(),
            "closed_ts": self.closed_at.timestamp(),
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> IncidentMemoryRecord:
        split = lambda key: [item for item in str(meta.get(key) or "").split(_LIST_SEP) if item]  # noqa: E731
        fields = {key: meta[key] for key in cls.model_fields if key in meta}
        return cls.model_validate({**fields, "finding_kinds": split("finding_kinds"), "actions": split("actions"),
                                   "failed_causes": split("failed_causes")})


class SimilarIncident(BaseModel):
    """A past incident close to the query, with cosine similarity in [0, 1]."""

    incident_id: str
    similarity: float = Field(ge=0.0, le=1.0)
    service: str
    layer: str
    root_cause: str
    actions: list[str]
    failed_causes: list[str] = Field(default_factory=list)
    outcome: Outcome
    summary: str
    closed_at: datetime


class ActionTrackRecord(TypedDict):
    """How one action fared in similar incidents; ``score`` weighs each by similarity (+resolved, -failed)."""

    resolved: int
    failed: int
    incidents: list[str]
    score: float


class IncidentMemory:
    """Past incidents in a chroma collection: a local persistent folder, a chroma server, or memory only.

    ``IncidentMemory(path)`` opens (or creates) the collection in a ``PersistentClient`` folder;
    ``IncidentMemory(host=..., port=...)`` talks to a chroma server; with neither it lives in memory.
    A new collection uses ``embedding`` or the best offline one available; an existing collection
    keeps the embedding it was created with.
    """

    def __init__(self, path: Path | str | None = None, *, host: str | None = None, port: int | None = None,
                 collection: str = "incidents", embedding: chromadb.EmbeddingFunction | None = None) -> None:
        settings = Settings(anonymized_telemetry=False)
        if host is not None:
            self.client = chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
        elif path is not None:
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        else:
            self.client = chromadb.EphemeralClient(settings=settings)
        try:
            self.collection = (self.client.get_collection(collection, embedding_function=embedding) if embedding
                               else self.client.get_collection(collection))
        except NotFoundError:
            self.collection = self.client.get_or_create_collection(
                collection, embedding_function=embedding or default_embedding(), configuration={"hnsw": HNSW},
                metadata={"content": "opsgraph incident memory"})

    def remember(self, record: IncidentMemoryRecord) -> None:
        """Store or replace (by incident id) one incident."""
        self.collection.upsert(ids=[record.incident_id], documents=[record.document()],
                               metadatas=[record.metadata()])

    def get(self, incident_id: str) -> IncidentMemoryRecord | None:
        """One remembered incident, or None."""
        found = self.collection.get(ids=[incident_id], include=["metadatas"])
        metas = found.get("metadatas") or []
        return IncidentMemoryRecord.from_metadata(dict(metas[0])) if metas else None

    def forget(self, incident_id: str) -> None:
        """Remove one incident (e.g. opened by mistake)."""
        self.collection.delete(ids=[incident_id])

    def count(self) -> int:
        return self.collection.count()

    def similar(self, text: str, *, k: int = 5, exclude_id: str | None = None) -> list[SimilarIncident]:
        """The ``k`` remembered incidents most similar to ``text``, most similar first."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        size = self.count() - (1 if exclude_id and self.get(exclude_id) else 0)
        if size <= 0:
            return []
        where = {"incident_id": {"$ne": exclude_id}} if exclude_id else None
        found = self.collection.query(query_texts=[text], n_results=min(k, size), where=where,
                                      include=["metadatas", "distances"])
        results = []
        for meta, distance in zip(found["metadatas"][0], found["distances"][0], strict=True):
            record = IncidentMemoryRecord.from_metadata(dict(meta))
            results.append(SimilarIncident(
                similarity=min(1.0, max(0.0, 1.0 - float(distance))),
                **record.model_dump(include={"incident_id", "service", "layer", "root_cause", "actions",
                                             "failed_causes", "outcome", "summary", "closed_at"})))
        return sorted(results, key=lambda hit: -hit.similarity)

    def action_track_record(self, text: str, *, k: int = 10,
                            exclude_id: str | None = None) -> dict[str, ActionTrackRecord]:
        """For each action taken in the ``k`` most similar incidents: how often it resolved them or failed.

        Resolved counts ``resolved`` outcomes, failed counts ``made_worse`` and ``undone``;
        ``escalated`` and ``pending`` incidents are listed but counted as neither.
        """
        record: dict[str, ActionTrackRecord] = {}
        for hit in self.similar(text, k=k, exclude_id=exclude_id):
            for action in dict.fromkeys(hit.actions):
                entry = record.setdefault(action, {"resolved": 0, "failed": 0, "incidents": [], "score": 0.0})
                entry["incidents"].append(hit.incident_id)
                if hit.outcome == "resolved":
                    entry["resolved"] += 1
                    entry["score"] += hit.similarity
                elif hit.outcome in FAILED_OUTCOMES:
                    entry["failed"] += 1
                    entry["score"] -= hit.similarity
        return record
