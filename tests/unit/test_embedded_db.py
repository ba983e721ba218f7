"""The launcher's answers when FerretDB cannot be found or built."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.embedded_db import EmbeddedDatabaseError, find_or_build_ferretdb, running_instance


def test_missing_binary_without_go_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(EmbeddedDatabaseError) as caught:
        find_or_build_ferretdb(tmp_path / "cache")
    message = str(caught.value)
    assert str(tmp_path / "cache" / "bin" / "ferretdb") in message
    assert "apt-get install golang-go" in message
    assert "https://go.dev/dl/" in message
    assert "HARI_MONGODB_URL=mongodb://" in message
    assert not (tmp_path / "cache" / "bin" / "ferretdb").exists()


def test_explicit_binary_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedDatabaseError, match=r"HARI_FERRETDB_BIN=.*does not exist"):
        find_or_build_ferretdb(tmp_path, explicit=tmp_path / "nope")


def test_failed_build_reports_the_go_error(tmp_path: Path) -> None:
    fake_go = tmp_path / "go"
    fake_go.write_text("#!/bin/sh\necho 'go: module lookup disabled' >&2\nexit 1\n")
    fake_go.chmod(0o755)
    with pytest.raises(EmbeddedDatabaseError, match="module lookup disabled"):
        find_or_build_ferretdb(tmp_path / "cache", go=str(fake_go))


def test_cached_binary_is_used_without_building(tmp_path: Path) -> None:
    binary = tmp_path / "bin" / "ferretdb"
    binary.parent.mkdir()
    binary.write_text("")
    assert find_or_build_ferretdb(tmp_path, go="/nonexistent/go") == binary


def test_no_running_instance_without_endpoint_file(tmp_path: Path) -> None:
    assert running_instance(tmp_path) is None
