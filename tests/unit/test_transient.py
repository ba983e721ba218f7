"""storage.transient: SQLite lock refusals are retried (they changed nothing); anything else is not."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure

from storage import transient

BUSY = OperationFailure("[collection.go:191 sqlite.(*collection).UpdateAll] database is locked (5) (SQLITE_BUSY)", 1)


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transient, "FIRST_DELAY_SECONDS", 0.0)


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return calls, operation


async def test_busy_is_retried_until_it_succeeds() -> None:
    calls, operation = failing(3, BUSY)
    assert await transient.retry_transient(operation) == "done"  # type: ignore[arg-type]
    assert len(calls) == 4


async def test_other_failures_are_not_retried() -> None:
    calls, operation = failing(1, OperationFailure("E11000 duplicate key", 11000))
    with pytest.raises(OperationFailure, match="duplicate"):
        await transient.retry_transient(operation)  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_gives_up_after_the_last_attempt() -> None:
    calls, operation = failing(100, BUSY)
    with pytest.raises(OperationFailure, match="SQLITE_BUSY"):
        await transient.retry_transient(operation)  # type: ignore[arg-type]
    assert len(calls) == transient.ATTEMPTS


def test_is_transient() -> None:
    assert transient.is_transient(BUSY)
    assert not transient.is_transient(OperationFailure("E11000 duplicate key", 11000))
    assert not transient.is_transient(ValueError("database is locked"))
