"""Privacy: what may ever leave RAM (:mod:`~kiosk.privacy.policy`: ``report_safe`` and ``wipe``,
the one eraser of biometric buffers) and the process-level guard that enforces it
(:mod:`~kiosk.privacy.guard`: environment preparation, the audit hook, kernel protections).
"""
