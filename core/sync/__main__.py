"""`python -m core.sync [--full] [--quiet]`: the same as `connect-ops sync`."""
import sys

from core.cli import main

sys.exit(main(["sync", *sys.argv[1:]]))
