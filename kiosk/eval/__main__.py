"""``python -m kiosk.eval lfw|widerface|utkface|calibrate ...``: the same as ``kiosk eval`` (an entry point)."""
import logging
import sys

from kiosk.cli.eval import main_eval

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
sys.exit(main_eval(sys.argv[1:]))
