"""The one place that decides what may ever leave RAM, and how biometric buffers are erased.

In the kiosk's strict privacy mode nothing derived from a face (frame, crop, embedding) is
written anywhere or sent anywhere. What the program may output is limited to what
``report_safe`` lets through: counters, timings and identifiers that are meaningless outside
this process's lifetime.
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# A report value that is a sequence longer than this is treated as possible biometric data
# (an embedding has 128 values, a crop thousands) and refused.
_MAX_REPORT_SEQUENCE = 64


def wipe(buffer: np.ndarray) -> None:
    """Overwrite ``buffer`` with zeros in place.

    Dropping the last reference to an array leaves its bytes in freed memory until the
    allocator reuses them; zeroing first means an erased template is gone at once.
    """
    buffer.fill(0)


class PrivacyViolation(RuntimeError):
    """Something tried to output data that could identify or depict a person."""


def report_safe(value: Any, path: str = "report") -> Any:
    """Return ``value`` if it contains only scalars, strings and short containers; else raise.

    Used on every JSON report and log payload built from pipeline state: arrays are refused
    outright and long numeric sequences (the shape of an embedding or pixel row) are refused
    too, so a future field cannot leak biometric data by accident.
    """
    if isinstance(value, np.ndarray):
        raise PrivacyViolation(f"{path}: arrays may not leave the process (shape {value.shape})")
    if value is None or isinstance(value, (bool, str, numbers.Number)):
        return value
    if isinstance(value, Mapping):
        return {str(k): report_safe(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence):
        if len(value) > _MAX_REPORT_SEQUENCE and all(isinstance(v, numbers.Number) for v in value):
            raise PrivacyViolation(f"{path}: a numeric sequence of {len(value)} values may not "
                                   "leave the process")
        return [report_safe(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise PrivacyViolation(f"{path}: values of type {type(value).__name__} may not leave the process")


# --- scanning text output (logs, reports) for things shaped like pixels or embeddings ----------

# A run of this many numbers separated only by whitespace, commas or semicolons looks like an
# embedding (128 values) or a pixel row. Log lines hold a handful of numbers at most (a
# timestamp is 4, a box 4, a timing table a few per line).
_MAX_NUMBER_RUN = 16
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_RUN = re.compile(rf"(?:{_NUMBER}[\s,;]+){{{_MAX_NUMBER_RUN - 1},}}{_NUMBER}")
# numpy reprs of arrays (an image prints summarised with "...", so it has no long run).
_ARRAY_REPR = re.compile(r"array\(\[|\[\s*\[\s*\[|dtype=(?:u?int\d+|float\d+)")
# base64 text: 64+ characters of the alphabet, mixing upper case, lower case and digits (a
# sha256 in hex has no upper case, so model hashes in the log do not count).
_BASE64 = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")
# Raw bytes: Python's bytes repr, or a long hex dump (longer than a sha512).
_BYTES_REPR = re.compile(r"b'(?:[^'\\]|\\.)*'" "|" r'b"(?:[^"\\]|\\.)*"')
_MAX_BYTE_ESCAPES = 16
_HEX_BLOB = re.compile(r"\b[0-9a-fA-F]{129,}\b")


def find_biometric_leaks(text: str) -> list[str]:
    """Describe every passage of ``text`` shaped like pixel data or an embedding; [] if none.

    Looks for long runs of numbers, numpy array reprs, base64 blobs, bytes reprs and long hex
    dumps. Meant for tests and audits of logs and reports: a heuristic that errs on the side
    of reporting (a legitimate line that trips it should be reworded, not whitelisted).
    """
    found: list[str] = []
    for kind, pattern in (("numbers", _NUMBER_RUN), ("array repr", _ARRAY_REPR), ("hex", _HEX_BLOB)):
        for m in pattern.finditer(text):
            found.append(f"{kind} at {m.start()}: {m.group(0)[:80]!r}")
    for m in _BYTES_REPR.finditer(text):
        if m.group(0).count("\\x") >= _MAX_BYTE_ESCAPES:
            found.append(f"bytes at {m.start()}: {m.group(0)[:80]!r}")
    for m in _BASE64.finditer(text):
        blob = m.group(0)
        if any(c.isupper() for c in blob) and any(c.islower() for c in blob) and any(c.isdigit() for c in blob):
            found.append(f"base64 at {m.start()}: {blob[:80]!r}")
    return found
