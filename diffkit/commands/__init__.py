"""The handlers of the ``diffkit`` command's subcommands; ``diffkit.cli`` parses and dispatches.

Each handler takes the parsed ``argparse.Namespace`` and returns the exit status,
raising ``UsageError`` (``arguments``) for a command line it cannot use.
"""

from .arguments import UsageError
from .check import check_command
from .listing import list_command
from .study import study_random_command
from .sweeps import report_command, sweep_command

__all__ = [
    "UsageError",
    "check_command",
    "list_command",
    "report_command",
    "study_random_command",
    "sweep_command",
]
