"""``python -m scopeguard_demo`` (``make demo``)."""

import sys

from scopeguard_demo import run

sys.exit(run())
