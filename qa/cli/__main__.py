"""`python -m qa.cli`: the same as the `qa` console script (tests and benchmarks run it so)."""

import sys

from qa.cli import main

sys.exit(main())
