"""Glue for the Snakemake scripts: logging to the rule's log file and clear errors."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import DiskFullError, InputError
from .util import DISK_FULL, disk_full_error, report_dropped_warnings, setup_logging


# a folder the step must write its outputs to is read-only (chmod, a read-only mount, chattr +i, not yours)
NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def _writing_output(filename, outputs) -> bool:
    """``filename`` is one of the rule's outputs or a file beside one (our temporary files)."""
    if not filename:
        return False
    folder = Path(os.path.abspath(str(filename))).parent
    return any(Path(os.path.abspath(str(o))).parent == folder for o in outputs)


def not_writable_error(exc: OSError) -> str:
    folder = Path(str(exc.filename)).parent
    return (
        f"cannot write {exc.filename}: {exc.strerror or exc} -- the folder {folder} is read-only (or belongs to "
        f"someone else). Nothing partial was kept. Make it writable (e.g. chmod u+w {folder}, or remount it "
        "read-write) or run in a directory you can write to, then run the same command again: the finished steps "
        "are kept."
    )


def run_step(snakemake, step: Callable[[], object]) -> None:
    """Run ``step`` with logging to ``snakemake.log[0]``.

    An :class:`InputError` is printed as a one-paragraph message (no traceback), starting
    with ``rule NAME:``, to the log and to stderr, and the job fails; Snakemake then removes
    the job's outputs.
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    logger = logging.getLogger("pathverdict")
    try:
        _run(snakemake, step, logger)
    finally:
        report_dropped_warnings()


def _run(snakemake, step: Callable[[], object], logger: logging.Logger) -> None:
    try:
        step()
    except DiskFullError as exc:  # raised by every atomic write
        logging.raiseExceptions = False  # the log file may not take it either: no "Logging error" trace
        logger.error("rule %s: %s", snakemake.rule, exc)
        sys.exit(1)
    except InputError as exc:
        # the rule's name first: with `quiet: rules` (profiles/default) Snakemake does not print
        # its own "Error in rule" block, so this line says which step stopped and why
        logger.error("rule %s: %s", snakemake.rule, exc)
        sys.exit(1)
    except OSError as exc:
        if exc.errno in NOT_WRITABLE and _writing_output(exc.filename, snakemake.output):
            logger.error("rule %s: %s", snakemake.rule, not_writable_error(exc))
            sys.exit(1)
        if exc.errno not in DISK_FULL:
            logger.exception("step failed in rule %s", snakemake.rule)
            raise
        # a full disk outside our own writes (a library's scratch file, ...): the same one message
        logging.raiseExceptions = False
        where = exc.filename or (snakemake.output[0] if len(snakemake.output) else ".")
        logger.error("rule %s: %s", snakemake.rule, disk_full_error(where, exc))
        sys.exit(1)
    except Exception:
        logger.exception("step failed in rule %s", snakemake.rule)
        raise
