"""systemd notifications: a fake NOTIFY_SOCKET receives READY/WATCHDOG/STATUS/STOPPING, and
watchdog pings stop while the main loop hangs."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.notify import Notifier


@pytest.fixture()
def fake_systemd(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A datagram socket bound where systemd's notification socket would be."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield path, sock
    sock.close()


def _drain(sock: socket.socket) -> list[str]:
    """Every datagram waiting on ``sock`` right now."""
    out: list[str] = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return out


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_unset_socket_is_a_noop() -> None:
    n = Notifier(env={})
    assert not n.enabled
    assert n.watchdog_interval_s is None
    assert n.ready("x") is False and n.tick() is False and n.stopping() is False


def test_messages_arrive(fake_systemd: tuple[Path, socket.socket]) -> None:
    path, sock = fake_systemd
    n = Notifier(env={"NOTIFY_SOCKET": str(path)})
    assert n.enabled
    assert n.ready("analysing the demo scene")
    assert sock.recv(4096).decode() == "READY=1\nSTATUS=analysing the demo scene"
    assert n.status("camera unavailable\nsecond line dropped")
    assert sock.recv(4096).decode() == "STATUS=camera unavailable"
    assert n.watchdog()
    assert sock.recv(4096).decode() == "WATCHDOG=1"
    assert n.stopping()
    assert sock.recv(4096).decode() == "STOPPING=1"


def test_abstract_namespace_socket() -> None:
    name = f"kiosk-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        n = Notifier(env={"NOTIFY_SOCKET": "@" + name})
        assert n.ready()
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_send_failure_is_counted_not_raised(tmp_path: Path) -> None:
    n = Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    assert n.enabled
    assert n.ready() is False
    assert n.send_failures == 1


def test_watchdog_interval_is_half_of_watchdog_usec(fake_systemd: tuple[Path, socket.socket]) -> None:
    path, _ = fake_systemd
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "10000000"}
    assert Notifier(env=env).watchdog_interval_s == pytest.approx(5.0)
    # A watchdog meant for another process (WATCHDOG_PID) is not ours to feed.
    assert Notifier(env={**env, "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval_s is None
    assert Notifier(env={**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s == pytest.approx(5.0)
    assert Notifier(env={**env, "WATCHDOG_USEC": "garbage"}).watchdog_interval_s is None


def test_tick_pings_at_half_the_interval_with_a_fake_clock(fake_systemd: tuple[Path, socket.socket]) -> None:
    path, sock = fake_systemd
    clock = FakeClock()
    n = Notifier(env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"}, clock=clock)
    n.ready()
    sent = []
    for _ in range(16):  # 16 loop iterations of 0.25 s = 4 s: one ping per second expected
        clock.t += 0.25
        sent.append(n.tick())
    assert sum(sent) == 4
    msgs = _drain(sock)
    assert msgs[0].startswith("READY=1")
    assert msgs[1:] == ["WATCHDOG=1"] * 4


class MainLoop:
    """A stand-in for the kiosk's main loop: ticks the notifier each iteration; can be made to hang."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.healthy = threading.Event()
        self.healthy.set()
        self.stop = threading.Event()
        self.hanging = threading.Event()  # set while the loop is blocked
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        self.notifier.ready()
        while not self.stop.is_set():
            if not self.healthy.is_set():
                self.hanging.set()
                self.healthy.wait()  # blocked, as a deadlocked draw call would be
                self.hanging.clear()
            self.notifier.tick()
            time.sleep(0.005)


def test_pings_stop_while_the_main_loop_hangs_and_resume_after(fake_systemd: tuple[Path, socket.socket]) -> None:
    path, sock = fake_systemd
    # WatchdogSec=0.1 s: the loop pings every 50 ms.
    loop = MainLoop(Notifier(env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "100000"}))
    loop.thread.start()
    try:
        assert sock.recv(4096).decode() == "READY=1"
        # Healthy: pings keep arriving (recv blocks until each one, 2 s timeout).
        for _ in range(3):
            assert sock.recv(4096).decode() == "WATCHDOG=1"

        loop.healthy.clear()
        assert loop.hanging.wait(2.0)
        _drain(sock)  # a ping sent just before the hang began
        sock.settimeout(0.5)  # 5 watchdog intervals
        with pytest.raises(socket.timeout):
            sock.recv(4096)
        assert loop.hanging.is_set()

        sock.settimeout(2.0)
        loop.healthy.set()
        assert sock.recv(4096).decode() == "WATCHDOG=1"
    finally:
        loop.stop.set()
        loop.healthy.set()
        loop.thread.join(2.0)
