"""Age bands: the one home for every grouping of ages in the kiosk.

Two groupings exist, on purpose, and both live here so that neither is written twice:

- :data:`AGE_BANDS` (0-12, 13-19, 20-39, 40-59, 60+): the kiosk's age bands. "Faces like
  yours", the per-band gender calibration (``models/age_gender_calibration.yaml`` stores these
  names and refuses others), the UTKFace report (``kiosk eval utkface``) and the fake snapshots
  of the benchmark all use them.
- :data:`COUNTER_AGE_BANDS` (0-12, 13-17, 18-24, ..., 65+): the finer bands of the daily
  aggregates file (``kiosk stats``). They are part of that file's format (version 1): files
  already written carry these keys, and days are merged key by key, so changing them would
  change ``kiosk stats`` output and the file format. They do not nest in :data:`AGE_BANDS`.

A band holds ``edges[i-1] <= years < edges[i]`` (the first is open below, the last above).
"""
from __future__ import annotations

from bisect import bisect_right

#: The kiosk's age bands (by *estimated* age on screen, by true age in evaluation).
AGE_BANDS: tuple[str, ...] = ("0-12", "13-19", "20-39", "40-59", "60+")
#: Lower edges of :data:`AGE_BANDS` after the first.
AGE_BAND_EDGES: tuple[float, ...] = (13.0, 20.0, 40.0, 60.0)

#: The daily aggregates file's age bands (its format, version 1).
COUNTER_AGE_BANDS: tuple[str, ...] = ("0-12", "13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
#: Lower edges of :data:`COUNTER_AGE_BANDS` after the first.
COUNTER_AGE_BAND_EDGES: tuple[float, ...] = (13.0, 18.0, 25.0, 35.0, 45.0, 55.0, 65.0)


def band_index(years: float, edges: tuple[float, ...] = AGE_BAND_EDGES) -> int:
    """Index of the band holding ``years`` (0-12 -> 0, ..., 60+ -> 4 with the default edges)."""
    return bisect_right(edges, float(years))


def age_band(years: float) -> str:
    """The :data:`AGE_BANDS` name of an age in years."""
    return AGE_BANDS[band_index(years)]


def counter_age_band(years: float) -> str:
    """The :data:`COUNTER_AGE_BANDS` name of an age in years."""
    return COUNTER_AGE_BANDS[band_index(years, COUNTER_AGE_BAND_EDGES)]


assert len(AGE_BANDS) == len(AGE_BAND_EDGES) + 1
assert len(COUNTER_AGE_BANDS) == len(COUNTER_AGE_BAND_EDGES) + 1
