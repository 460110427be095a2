"""``python -m kiosk.bench``: the same as ``kiosk bench`` (an entry point, like kiosk.cli)."""
from kiosk.cli.bench import main

raise SystemExit(main())
