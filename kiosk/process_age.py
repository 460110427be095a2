"""How long ago this process started: the start-up figures the kiosk logs and the bench reports
(``first picture on screen``, ``first frame analysed``) count from the moment the visitor's
operator (or systemd) started the process, interpreter start-up included."""
from __future__ import annotations

import os


def process_age_s() -> float | None:
    """Seconds since this process was started (from /proc, 10 ms steps), or None where unavailable."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            # The command name may hold spaces: fields after the last ')' are fixed.
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime_s = float(f.read().split()[0])
        return uptime_s - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
