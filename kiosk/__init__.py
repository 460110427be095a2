"""Surveillance Mirror kiosk."""
import sys as _sys

# Strict privacy mode writes nothing, byte code included: set before any kiosk module is
# imported (the package itself is the first one every entry point loads; the unit also sets
# PYTHONDONTWRITEBYTECODE=1 so that not even this file's own cache is written).
_sys.dont_write_bytecode = True

__version__ = "0.1.0"
