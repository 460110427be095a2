"""The one place that decides what may ever leave RAM, and how biometric buffers are erased.

In the kiosk's strict privacy mode nothing derived from a face (frame, crop, embedding) is
written anywhere or sent anywhere. What the program may output is limited to what
``report_safe`` lets through: counters, timings and identifiers that are meaningless outside
this process's lifetime.
"""
from __future__ import annotations

import numbers
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
