"""The report layer: charts and tables from a sweep's frame, written as HTML, Markdown and CSV."""

from .figures import ERROR_FLOOR, method_color, png_bytes, vcurve_figure
from .tables import error_curves, failure_table, summary_table
from .writer import (
    OutputFolderError,
    OutputFolderExistsError,
    check_output_folder,
    write_report,
)

__all__ = [
    "ERROR_FLOOR",
    "OutputFolderError",
    "OutputFolderExistsError",
    "check_output_folder",
    "error_curves",
    "failure_table",
    "method_color",
    "png_bytes",
    "summary_table",
    "vcurve_figure",
    "write_report",
]
