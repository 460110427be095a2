"""Analysis: one frame in, one frozen :class:`~kiosk.types.Snapshot` out.

- :mod:`~kiosk.analysis.analyzer`: detect -> track -> embed (new or stale tracks only) ->
  re-identify -> attributes, on the inference thread, which owns all of its state.
- :mod:`~kiosk.analysis.attributes`: per-track attribute schedules and smoothing.
- :mod:`~kiosk.analysis.record`: the Rekognition-style ``FaceDetail`` record of a face.
- :mod:`~kiosk.analysis.build`: the composition root (configuration + model files -> analyzer).
"""
