"""``python -m mgsurv``: the same as the ``mgsurv`` command."""

import sys

from mgsurv.cli import main

sys.exit(main())
