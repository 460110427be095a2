"""The only paths the kiosk may write are named exactly: the aggregates file inside the state
folder, and ``--report`` as a file (never a folder, which would allow-list a whole tree).

The kiosk may run as root (it does on this test machine): an aggregates file at
/etc/cron.d/x would be a file cron runs. It is refused when the configuration is read.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import config_from_mapping
from kiosk.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _privacy(**privacy: object) -> object:
    return config_from_mapping({"privacy": privacy}).privacy


def test_aggregates_file_in_etc_cron_d_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        _privacy(persist_aggregates=True, aggregates_file="/etc/cron.d/x")
    message = str(err.value)
    assert "\n" not in message, message
    assert "/etc/cron.d/x" in message and "/var/lib/kiosk" in message and "state_dir" in message, message


def test_aggregates_file_inside_the_state_folder_is_accepted(tmp_path: Path) -> None:
    privacy = _privacy(persist_aggregates=True, state_dir=str(tmp_path),
                       aggregates_file=str(tmp_path / "aggregates.json"))
    assert privacy.aggregates_file == tmp_path / "aggregates.json"
    assert privacy.state_dir == tmp_path
    # A sub-folder of the state folder is inside it too.
    (tmp_path / "daily").mkdir()
    assert _privacy(state_dir=str(tmp_path), aggregates_file=str(tmp_path / "daily" / "a.json")).aggregates_file


@pytest.mark.parametrize("escape", ["dotdot", "symlink", "sibling_prefix"])
def test_aggregates_file_cannot_escape_the_state_folder(tmp_path: Path, escape: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    if escape == "dotdot":
        target = f"{state}/../outside/a.json"
    elif escape == "symlink":  # a link inside the state folder pointing out of it
        (state / "link").symlink_to(outside)
        target = str(state / "link" / "a.json")
    else:  # /x/state-evil is not inside /x/state, although the text starts the same
        (tmp_path / "state-evil").mkdir()
        target = str(tmp_path / "state-evil" / "a.json")
    with pytest.raises(ConfigError, match="outside the state folder"):
        _privacy(persist_aggregates=True, state_dir=str(state), aggregates_file=target)


@pytest.mark.slow
def test_kiosk_run_with_aggregates_in_etc_cron_d_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "k.yaml"
    target = tmp_path / "cron.d" / "x"  # the same shape as /etc/cron.d/x, without touching /etc
    target.parent.mkdir()
    cfg.write_text(f"privacy:\n  persist_aggregates: true\n  aggregates_file: {target}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(cfg), "--source", "demo",
                           "--headless", "--max-frames", "5"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2, proc.stderr
    assert f"aggregates_file {target} is outside the state folder /var/lib/kiosk" in proc.stderr, proc.stderr
    assert not target.exists()


@pytest.mark.parametrize("given", ["/", ".", "TMP", "TMP/", "TMP/new-folder/", "LINK_TO_DIR", "/dev/null",
                                   "TMP/missing/r.json"])
def test_report_must_name_a_file_in_an_existing_folder(tmp_path: Path, given: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``--report /`` would allow-list every path; a folder, a device or a missing folder is
    refused with one line before anything runs."""
    from kiosk.privacy.strict_start import check_report_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    report = given.replace("LINK_TO_DIR", str(tmp_path / "link")).replace("TMP", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        check_report_path(report)
    message = str(err.value)
    assert message.startswith(f"--report {report}: ") and "\n" not in message, message
    assert not (tmp_path / "new-folder").exists() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("given", ["-", None, "r.json", "TMP/r.json", "TMP/existing.json"])
def test_report_file_paths_are_accepted(tmp_path: Path, given: str | None,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.privacy.strict_start import check_report_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing.json").write_text("{}\n", encoding="utf-8")
    report = given.replace("TMP", str(tmp_path)) if given else given
    path = check_report_path(report)
    assert (path is None) == (given in ("-", None))
    if path is not None:
        assert path.parent.resolve() == tmp_path.resolve() and not path.is_dir()
