"""Entry point of the packaged program: PyInstaller runs this file as ``__main__``.

It is the same as ``python -m cnn_desktop``: no command opens the app, ``--self-test``
checks the build, and ``classify`` / ``evaluate`` / ``train`` / ``summary`` work as on
the command line of a source install.
"""

import sys

from cnn_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
