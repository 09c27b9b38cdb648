import sys

from krea_tui.cli import main

sys.exit(main())
