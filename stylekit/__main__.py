"""``python -m stylekit``."""
import sys

from .cli import main

sys.exit(main())
