"""`python -m lib` is the `bi` command."""

import sys

from lib.cli import main

sys.exit(main())
