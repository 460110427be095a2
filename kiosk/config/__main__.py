"""``python -m kiosk.config markdown | check FILE`` (an entry point: it may print)."""
from __future__ import annotations

import sys
from pathlib import Path

from kiosk.cli.check_config import main_check
from kiosk.config import schema_markdown
from kiosk.errors import EXIT_USAGE

if sys.argv[1:] == ["markdown"]:
    sys.stdout.write(schema_markdown())
elif len(sys.argv) == 3 and sys.argv[1] == "check":
    raise SystemExit(main_check(Path(sys.argv[2])))
else:
    print("usage: python -m kiosk.config markdown | check FILE", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
