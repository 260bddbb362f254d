"""`python -m core.cli`: the same as the `connect-ops` command."""
import sys

from core.cli import main

sys.exit(main())
