"""Who may do what: the role ladder viewer < operator < approver < admin, and a YAML book of users' roles."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Role = Literal["viewer", "operator", "approver", "admin"]
ROLES: tuple[str, ...] = ("viewer", "operator", "approver", "admin")


def role_rank(role: str) -> int:
    """Position on the ladder; a higher role holds every lower one (admin implies approver)."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}") from None


def has_role(roles: Iterable[str], required: str) -> bool:
    """True when any of ``roles`` is ``required`` or above it; unknown role names grant nothing."""
    needed = role_rank(required)
    return any(role in ROLES and ROLES.index(role) >= needed for role in roles)


class RoleBook(BaseModel):
    """Users and their roles, as in ``{users: {alice: [approver]}, default_roles: [viewer]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: dict[str, list[Role]] = Field(default_factory=dict)
    default_roles: list[Role] = Field(default_factory=lambda: ["viewer"])

    @classmethod
    def load(cls, path: Path | str) -> RoleBook:
        """Read a role book YAML; a clear ValueError names the file and the bad entry."""
        path = Path(path)
        try:
            return cls.model_validate(yaml.safe_load(path.read_text()) or {})
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ValueError(f"invalid role book {path}: {exc}") from exc

    def roles_of(self, user: str) -> set[str]:
        """The user's roles; the default roles for a user the book does not name."""
        return set(self.users.get(user, self.default_roles))

    def can(self, user: str, role: str) -> bool:
        """True when the user holds ``role`` or a higher one."""
        return has_role(self.roles_of(user), role)
