"""`python -m charts.celerity.hack.dashboards [--check]`: see the package docstring."""

import sys

from .generating import main

sys.exit(main(sys.argv[1:]))
