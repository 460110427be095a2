"""systemd service notifications (``sd_notify``): READY, WATCHDOG, STATUS, STOPPING.

The unit (``systemd/kiosk.service``) is ``Type=notify`` with ``WatchdogSec=``: systemd considers
the kiosk started when it sends ``READY=1`` and restarts it when the ``WATCHDOG=1`` pings stop
for longer than ``WatchdogSec``. The pings come from the main loop (the UI loop, or the headless
wait loop) through :meth:`Notifier.tick`, so a main loop that blocks stops them and systemd
restarts the service.

Why not ``python-systemd`` / ``sdnotify``: the protocol is one datagram on a Unix socket, a
dependency would add an install step on every platform (python-systemd needs libsystemd headers
to build), and this module must be importable before anything heavy. The socket is created when
the :class:`Notifier` is constructed, so create it before the privacy guard is installed (the
guard allows Unix sockets anyway, see ``kiosk.privacy.guard``).

Outside systemd (``$NOTIFY_SOCKET`` unset) every method is a cheap no-op.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

__all__ = ["Notifier"]


def _socket_address(value: str) -> str | bytes | None:
    """``$NOTIFY_SOCKET`` as an ``AF_UNIX`` address: a path, or ``@name`` for the abstract namespace."""
    if value.startswith("/"):
        return value
    if value.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of '@' (systemd's convention).
        return b"\0" + value[1:].encode()
    return None  # e.g. "vsock:..." (systemd >= 253, for VMs): not something a kiosk runs under


def _watchdog_interval_s(env: Mapping[str, str]) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds, or None when no watchdog is asked of this process.

    Half the timeout is what sd_watchdog_enabled(3) recommends: one missed ping is tolerated.
    ``$WATCHDOG_PID``, when set, must be this process (it is the main PID under systemd).
    """
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    try:
        usec_i = int(usec)
        if pid and int(pid) != os.getpid():
            return None
    except ValueError:
        log.warning("ignoring malformed WATCHDOG_USEC=%r / WATCHDOG_PID=%r", usec, pid)
        return None
    if usec_i <= 0:
        return None
    return usec_i / 1e6 / 2.0


class Notifier:
    """Sends service notifications to systemd; a no-op when ``$NOTIFY_SOCKET`` is unset.

    Parameters: ``env`` (default ``os.environ``) supplies ``NOTIFY_SOCKET``, ``WATCHDOG_USEC``
    and ``WATCHDOG_PID``; ``clock`` (default ``time.monotonic``) lets tests drive :meth:`tick`.

    Sending never raises: a failed send is logged once (at WARNING) and counted in
    ``send_failures``. If notifications cannot be delivered, systemd's watchdog will restart
    the service, which is the right outcome and not something the kiosk could fix itself.
    """

    def __init__(self, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if env is None else env
        self._clock = clock
        self._address: str | bytes | None = None
        self._sock: socket.socket | None = None
        self.send_failures = 0
        self._warned = False
        raw = env.get("NOTIFY_SOCKET", "")
        if raw:
            self._address = _socket_address(raw)
            if self._address is None:
                log.warning("NOTIFY_SOCKET=%r is not a Unix socket address; systemd notifications off", raw)
            else:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.watchdog_interval_s: float | None = (
            _watchdog_interval_s(env) if self._sock is not None else None)
        self._last_ping_s: float | None = None
        self.pings_sent = 0

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notification socket."""
        return self._sock is not None

    def send(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields in one datagram; True if it was delivered to the socket."""
        if self._sock is None or self._address is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            self.send_failures += 1
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %r: %s", self._address, exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1`` (plus ``STATUS=``): start-up is complete. Also starts the watchdog clock."""
        fields = ["READY=1"] + ([f"STATUS={status}"] if status else [])
        self._last_ping_s = self._clock()
        return self.send(*fields)

    def status(self, text: str) -> bool:
        """``STATUS=text``: one line shown by ``systemctl status kiosk``."""
        return self.send(f"STATUS={text.splitlines()[0] if text else ''}")

    def watchdog(self) -> bool:
        """``WATCHDOG=1`` now, whatever the interval."""
        self._last_ping_s = self._clock()
        sent = self.send("WATCHDOG=1")
        if sent:
            self.pings_sent += 1
        return sent

    def tick(self) -> bool:
        """Ping the watchdog if half of ``WatchdogSec`` has passed since the last ping.

        Call it every main-loop iteration: it costs one clock read when nothing is due. Returns
        True when a ping was sent.
        """
        if self.watchdog_interval_s is None:
            return False
        now = self._clock()
        if self._last_ping_s is not None and now - self._last_ping_s < self.watchdog_interval_s:
            return False
        return self.watchdog()

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1``: shutdown has begun (systemd stops expecting watchdog pings)."""
        fields = ["STOPPING=1"] + ([f"STATUS={status}"] if status else [])
        return self.send(*fields)

    def close(self) -> None:
        """Close the socket; later calls are no-ops."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
