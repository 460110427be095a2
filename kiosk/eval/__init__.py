"""Measurements of the kiosk's own models on public datasets (developer tooling, not runtime).

``common`` (models, images, face choice) and ``verification`` (metrics) sit below ``lfw``,
``widerface``, ``utkface`` and ``calibrate``; the command line is :mod:`kiosk.cli.eval`.
"""
