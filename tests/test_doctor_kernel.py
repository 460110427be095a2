"""`kiosk doctor` reports which kernel protections the kernel offers and which `kiosk run` would
have active (Landlock ABI, seccomp, no_new_privs, MDWE), from a throw-away process that applies
the sandbox and tries a file creation, an Internet socket and a program start."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import doctor
from kiosk.config import config_from_mapping
from kiosk.privacy import sandbox

REPO = Path(__file__).resolve().parent.parent

# The self-test with the kernel's Landlock and seccomp hidden: what a kernel without them gives.
_WITHOUT_KERNEL_SANDBOX = ("import sys, kiosk.privacy.sandbox as s\n"
                           "s.landlock_abi = lambda: 0\n"
                           "s.seccomp_available = lambda: False\n"
                           "from kiosk.privacy.selftest import main\n"
                           "sys.exit(main())\n")


def test_self_test_on_this_kernel_matches_what_it_offers() -> None:
    support = sandbox.kernel_support()
    result = doctor.kernel_self_test()
    assert result is not None
    assert result["support"] == support
    assert result["landlock_abi"] == support["landlock_abi"]
    assert result["no_new_privs"] is True
    assert result["landlock"] == (support["landlock_abi"] >= 1)
    assert result["seccomp"] == support["seccomp"]
    assert result["mdwe"] == support["mdwe"]
    assert result["files_left"] == []
    if result["landlock"]:
        assert result["attempts"]["file_create"] == "EACCES"
    if result["seccomp"]:
        assert result["attempts"]["inet_socket"] == "EAFNOSUPPORT"
        assert result["attempts"]["program_start"] == "EPERM"
    check = doctor.check_kernel(config_from_mapping({}))
    complete = support["landlock_abi"] >= 1 and support["seccomp"]
    assert check.status == ("ok" if complete else "fail"), check
    assert f"Landlock ABI {support['landlock_abi']}" in check.detail
    if complete:
        assert "`kiosk run` applies Landlock, seccomp, no_new_privs" in check.detail


def test_without_landlock_and_seccomp_the_attempts_succeed_and_required_fails(tmp_path: Path) -> None:
    """The same self-test with the kernel sandbox hidden: nothing refuses, and the check says so."""
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_KERNEL_SANDBOX, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["landlock"] and not result["seccomp"]
    assert result["attempts"] == {"file_create": "allowed", "inet_socket": "allowed", "program_start": "allowed"}
    assert (tmp_path / "written-under-the-sandbox").exists()
    required = doctor.judge_kernel("required", result)
    assert required.status == "fail" and "would refuse to start" in required.detail
    assert "missing Landlock, seccomp" in required.detail and "best_effort" in required.fix
    best = doctor.judge_kernel("best_effort", result)
    assert best.status == "warn" and "STAFF warning" in best.detail
    assert "file creation ALLOWED" in best.detail


def _result(**over: object) -> dict:
    base = {"support": {"landlock_abi": 7, "seccomp": True, "mdwe": True, "arch": "x86_64"},
            "landlock_abi": 7, "landlock": True, "seccomp": True, "no_new_privs": True, "mdwe": True,
            "notes": [], "files_left": [],
            "attempts": {"file_create": "EACCES", "inet_socket": "EAFNOSUPPORT", "program_start": "EPERM"}}
    base.update(over)
    return base


@pytest.mark.parametrize(("over", "leak"), [
    ({"attempts": {"file_create": "allowed", "inet_socket": "EAFNOSUPPORT", "program_start": "EPERM"}},
     "a file was created under Landlock"),
    ({"files_left": ["written-under-the-sandbox"]}, "a file was created under Landlock"),
    ({"attempts": {"file_create": "EACCES", "inet_socket": "allowed", "program_start": "EPERM"}},
     "an Internet socket was opened under seccomp"),
    ({"attempts": {"file_create": "EACCES", "inet_socket": "EAFNOSUPPORT", "program_start": "allowed"}},
     "a program was started under seccomp"),
])
def test_a_protection_that_lets_an_attempt_through_fails(over: dict, leak: str) -> None:
    check = doctor.judge_kernel("best_effort", _result(**over))
    assert check.status == "fail" and leak in check.detail


def test_report_names_each_protection() -> None:
    ok = doctor.judge_kernel("required", _result())
    assert ok.status == "ok"
    assert "kernel offers Landlock ABI 7, seccomp yes, MDWE yes" in ok.detail
    assert "got Landlock, seccomp, no_new_privs, MDWE" in ok.detail
    no_mdwe = doctor.judge_kernel("required", _result(mdwe=False, support={"landlock_abi": 3, "seccomp": True,
                                                                           "mdwe": False, "arch": "aarch64"}))
    assert no_mdwe.status == "ok" and "MDWE no (aarch64)" in no_mdwe.detail and "MDWE" not in no_mdwe.detail.split("got")[1]
    off = doctor.judge_kernel("off", _result())
    assert off.status == "warn" and "kernel_enforcement is off" in off.detail
    assert doctor.judge_kernel("required", None).status == "fail"
