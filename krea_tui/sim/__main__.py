"""`python -m krea_tui.sim`: the simulator without the rest of the CLI."""

import sys

from krea_tui.sim.cli import main

# Guarded: tools that import every module of the package (the layer test) must not start a server.
if __name__ == "__main__":
    sys.exit(main())
