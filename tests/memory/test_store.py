"""The relational store: tables appear once even when several processes open a new file together."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from memory.store import Store, sqlite_url


def _open(path: str) -> None:
    Store(sqlite_url(Path(path))).incidents()


def test_many_processes_can_create_the_same_new_database_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "race.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(path,)) for _ in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * 6
    assert Store(sqlite_url(Path(path))).incidents() == []
