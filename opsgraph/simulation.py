"""The simulator as a metric source and platform registry: worlds persisted in the data directory."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sims.world import SimWorld


class SimRegistry:
    """Loads, caches and saves simulator worlds by id, so any process can act on any world."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._worlds: dict[str, SimWorld] = {}
        self._stamps: dict[str, int] = {}  # file mtime when this process last loaded or saved the world

    def path(self, source_id: str) -> Path:
        """File of one world."""
        if not source_id or "/" in source_id or source_id.startswith("."):
            raise ValueError(f"invalid world id {source_id!r}")
        return self.directory / f"{source_id}.pkl"

    def register(self, world: SimWorld) -> None:
        """Track a new world and save it at once."""
        self._worlds[world.world_id] = world
        self.commit(world.world_id)

    def open(self, source_id: str) -> tuple[SimWorld, SimWorld]:
        """The world as both metric source and platform."""
        world = self._worlds.get(source_id)
        if world is None:
            path = self.path(source_id)
            if not path.exists():
                raise KeyError(f"no simulator world {source_id!r} in {self.directory}")
            world = SimWorld.load(path)
            self._worlds[source_id] = world
            self._stamps[source_id] = path.stat().st_mtime_ns
        return world, world

    def commit(self, source_id: str) -> None:
        """Save the world (atomic replace)."""
        world = self._worlds.get(source_id)
        if world is not None:
            path = self.path(source_id)
            world.save(path)
            self._stamps[source_id] = path.stat().st_mtime_ns

    def forget(self, source_id: str) -> None:
        """Drop a cached world (it stays on disk)."""
        self._worlds.pop(source_id, None)
        self._stamps.pop(source_id, None)

    @contextmanager
    def locked(self, source_id: str) -> Iterator[None]:
        """Exclusive lock on one world across processes, for the duration of a resume."""
        lock = self.directory / f"{source_id}.lock"
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                path = self.path(source_id)
                if path.exists() and self._stamps.get(source_id) != path.stat().st_mtime_ns:
                    self.forget(source_id)  # another process changed it: reload under the lock
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
