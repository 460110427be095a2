import sys

sys.dont_write_bytecode = True  # strict privacy mode: no .pyc files, set before any kiosk import

from kiosk.cli import main  # noqa: E402

raise SystemExit(main())
