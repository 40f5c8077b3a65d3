"""Who is calling: bearer tokens (and Slack users) mapped to a user and roles, and the identity book built from them.

Files in OPSGRAPH_HOME (or named by OPSGRAPH_TOKENS_FILE / OPSGRAPH_SLACK_USERS_FILE):

- ``tokens.yaml``: ``{"sha256:<hex of token>": {user: alice, roles: [approver]}}`` — ``opsgraph token
  create`` writes the hash and prints the token once. A plain token as key also works (for
  hand-written files in tests and development).
- ``slack_users.yaml``: ``{U0123ABC: {user: alice, roles: [approver]}}``.

The identity book (:func:`identity_book`) merges the role file of the runtime with both, so the
loop re-checks approvers' roles when an action is about to run: removing a token or a Slack
mapping revokes the roles it granted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies.roles import ROLES, Role, RoleBook, has_role

TOKENS_FILE = "tokens.yaml"
SLACK_USERS_FILE = "slack_users.yaml"


class Identity(BaseModel):
    """A user and the roles they act with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(default_factory=lambda: ["viewer"])

    def can(self, role: str) -> bool:
        """True when the identity holds ``role`` or a higher one."""
        return has_role(self.roles, role)


def _hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def load_identities(path: Path) -> dict[str, Identity]:
    """A ``{key: {user, roles}}`` YAML file; missing file = empty; a clear ValueError names a bad entry."""
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"expected a mapping of key -> {{user, roles}}, got {type(raw).__name__}")
        return {str(key): Identity.model_validate(value) for key, value in raw.items()}
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ValueError(f"invalid identity file {path}: {exc}") from exc


def tokens_path(home: Path) -> Path:
    """Where the bearer tokens live."""
    return Path(os.environ.get("OPSGRAPH_TOKENS_FILE") or home / TOKENS_FILE)


def slack_users_path(home: Path) -> Path:
    """Where Slack user ids are mapped to users and roles."""
    return Path(os.environ.get("OPSGRAPH_SLACK_USERS_FILE") or home / SLACK_USERS_FILE)


def create_token(home: Path, user: str, roles: list[str]) -> str:
    """Add a new token for ``user`` to the token file (stored hashed, mode 0600); return the token."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(ROLES)}; got {roles!r}")
    path = tokens_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = yaml.safe_load(path.read_text()) if path.exists() else {}
    token = "og_" + secrets.token_urlsafe(24)
    existing = dict(existing or {})
    existing[_hash(token)] = Identity(user=user, roles=roles).model_dump()  # type: ignore[arg-type]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(existing, sort_keys=True))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return token


class TokenBook:
    """Bearer tokens → identities, re-read when the file changes (so revoking needs no restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: int | None = None
        self._entries: dict[str, Identity] = {}

    def _load(self) -> dict[str, Identity]:
        stamp = self.path.stat().st_mtime_ns if self.path.exists() else None
        if stamp != self._stamp:
            self._entries, self._stamp = load_identities(self.path), stamp
        return self._entries

    def identify(self, token: str) -> Identity | None:
        """The identity of a token, or None; constant-time comparisons."""
        if not token:
            return None
        wanted = _hash(token)
        found = None
        for key, identity in self._load().items():
            if hmac.compare_digest(key, wanted) or hmac.compare_digest(key, token):
                found = identity
        return found

    def identities(self) -> list[Identity]:
        """Every identity a token grants."""
        return list(self._load().values())


def identity_book(base: RoleBook, *sources: list[Identity]) -> RoleBook:
    """The base role book with the roles granted by tokens and Slack mappings added per user."""
    users: dict[str, set[str]] = {user: set(roles) for user, roles in base.users.items()}
    for identities in sources:
        for identity in identities:
            users.setdefault(identity.user, set()).update(identity.roles)
    return RoleBook(users={u: sorted(r, key=ROLES.index) for u, r in users.items()},  # type: ignore[misc]
                    default_roles=base.default_roles)


def home_identity_book(base: RoleBook, home: Path) -> RoleBook:
    """The identity book from the files in ``home`` (tokens and Slack users)."""
    return identity_book(base, TokenBook(tokens_path(home)).identities(),
                         list(load_identities(slack_users_path(home)).values()))
