"""Errors raised for bad user input.

An :class:`InputError` message is meant for the person running the workflow: it names
the file (and the line, sample or gene where that applies) and says how to fix it.
The Snakemake adapters print it without a traceback.
"""


class InputError(Exception):
    """Bad input (config, sample sheet, count matrix, gene sets, annotation)."""


class DiskFullError(InputError):
    """A write failed for lack of disk space or quota. Not bad input, but like it a problem the
    person running the workflow fixes: reported the same way, one message and no traceback."""


def preview(items, limit: int = 5) -> str:
    """Comma-separated preview of ``items``, with a count of what was left out."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" (and {len(items) - limit} more)"
    return shown
