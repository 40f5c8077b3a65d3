"""The role ladder and the YAML role book."""

from __future__ import annotations

import pytest

from policies.roles import RoleBook, has_role


@pytest.mark.parametrize(("roles", "required", "expected"), [
    ({"admin"}, "approver", True),
    ({"approver"}, "approver", True),
    ({"operator"}, "approver", False),
    ({"viewer", "operator"}, "operator", True),
    ({"superuser"}, "viewer", False),
    (set(), "viewer", False),
])
def test_role_ladder(roles, required, expected):
    assert has_role(roles, required) is expected


def test_unknown_required_role_is_an_error():
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        has_role({"admin"}, "boss")


def test_role_book_from_yaml_with_default_roles(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("users:\n  alice: [approver]\n  root: [admin]\ndefault_roles: [operator]\n")
    book = RoleBook.load(path)
    assert book.roles_of("alice") == {"approver"}
    assert book.roles_of("stranger") == {"operator"}
    assert book.can("root", "approver") and not book.can("stranger", "approver")


def test_role_book_rejects_unknown_roles(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("users:\n  alice: [wizard]\n")
    with pytest.raises(ValueError, match="(?s)invalid role book .*users.alice"):
        RoleBook.load(path)
