"""``python -m pymodel``: the command line (see ``pymodel.cli``)."""
import sys

from pymodel.cli import main

if __name__ == "__main__":
    sys.exit(main())
