"""``python -m diffkit`` runs the same ``main`` as the ``diffkit`` console script."""

import sys

from .cli import main

sys.exit(main())
