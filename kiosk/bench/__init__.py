"""The benchmark and soak test (developer tooling, not runtime; the command is ``kiosk bench``).

``probes`` (process probes, statistics, model timers) -> ``phases`` (one timed pipeline run) ->
``run`` (the four phases and the report) / ``soak``; ``devices`` projects onto other hardware,
``report`` formats. ``scenes`` (synthetic capture sources), ``fake_snapshots`` (made-up
snapshots for screen tests and screenshots) and ``ui_draw`` (screen draw time) are the
benchmark's and the tests' props. The command line is :mod:`kiosk.cli.bench`.
"""
