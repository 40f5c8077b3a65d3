"""Settings from the environment: one data directory (OPSGRAPH_HOME) holds all local state."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from pydantic import BaseModel


def _default_user() -> str:
    """The OS user, or a fixed name where there is none (containers, CI)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


class Settings(BaseModel):
    """Where state lives and which optional parts are switched on."""

    home: Path
    database_url: str
    policy_file: Path | None = None
    roles_file: Path | None = None
    chroma_host: str | None = None
    chroma_port: int = 8000
    user: str
    memory_enabled: bool = True

    @property
    def checkpoint_path(self) -> Path:
        """SQLite file of the LangGraph checkpointer."""
        return self.home / "checkpoints.sqlite"

    @property
    def chroma_path(self) -> Path:
        """Folder of the persistent chromadb client."""
        return self.home / "chroma"

    @property
    def postmortem_dir(self) -> Path:
        """Folder of the Markdown postmortems."""
        return self.home / "postmortems"

    @property
    def worlds_dir(self) -> Path:
        """Folder of persisted simulator worlds."""
        return self.home / "worlds"

    @classmethod
    def from_env(cls, home: Path | str | None = None) -> "Settings":
        """Read OPSGRAPH_* variables; ``home`` overrides OPSGRAPH_HOME."""
        root = Path(home or os.environ.get("OPSGRAPH_HOME", ".opsgraph")).resolve()
        return cls(
            home=root,
            database_url=os.environ.get("OPSGRAPH_DATABASE_URL", f"sqlite:///{root / 'opsgraph.sqlite'}"),
            policy_file=Path(p) if (p := os.environ.get("OPSGRAPH_POLICY_FILE")) else None,
            roles_file=Path(p) if (p := os.environ.get("OPSGRAPH_ROLES_FILE")) else None,
            chroma_host=os.environ.get("OPSGRAPH_CHROMA_HOST") or None,
            chroma_port=int(os.environ.get("OPSGRAPH_CHROMA_PORT", "8000")),
            user=os.environ.get("OPSGRAPH_USER") or _default_user(),
            memory_enabled=os.environ.get("OPSGRAPH_MEMORY", "1") not in ("0", "false", "no"),
        )
