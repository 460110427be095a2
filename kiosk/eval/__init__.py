"""Measurements of the kiosk's own models on public datasets (developer tooling, not runtime).

``common`` (models, images, face choice), ``verification`` (metrics) and ``age_gender``
(calibration helpers) sit below ``lfw``,
``widerface``, ``utkface``, ``fit_age_gender`` and ``calibrate``; the command line is :mod:`kiosk.cli.eval`.
"""
