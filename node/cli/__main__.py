"""`python -m node.cli`: the same as `fabnode`."""

import sys

from node.cli.main import main

sys.exit(main())
