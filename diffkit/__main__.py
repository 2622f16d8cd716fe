"""``python -m diffkit`` runs the same ``main`` as the ``diffkit`` console script.

``python -m`` puts the current folder first on ``sys.path``; diffkit is imported by
then, so the folder is taken off again: a stray ``symengine.py`` beside the user must
not run when diffkit lazily imports its optional dependencies (``diffkit check``
gives the user's own module its folder back, for that module only).
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from .cli import main

sys.exit(main())
