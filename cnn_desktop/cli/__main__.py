"""``python -m cnn_desktop.cli``: the same as the cnn-desktop command."""

import sys

from cnn_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
