"""``python -m sar`` is the ``dwatch`` command."""

import sys

from sar.cli import main

sys.exit(main())
