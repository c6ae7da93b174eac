"""`python -m bluelamp` runs the CLI."""

import sys

from bluelamp.cli import main

sys.exit(main())
