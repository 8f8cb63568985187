"""``python -m tunelab``: the ``tunelab`` command (see :mod:`tunelab._frontdoor.cli`)."""

from __future__ import annotations

import sys

from tunelab._frontdoor.cli import main

if __name__ == "__main__":
    sys.exit(main())
