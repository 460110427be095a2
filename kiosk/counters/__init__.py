"""Counters: the day's anonymous figures (visitors, dwell times, who looked, guess distributions).

One home for "visitors today": :mod:`~kiosk.counters.daily` counts from the snapshots, persists
to the aggregates file and reads it back (``kiosk stats``); :mod:`~kiosk.counters.figures` turns
the same counts into the attract screen's figures, so the screen and ``kiosk stats`` agree.
"""
