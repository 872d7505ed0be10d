"""Glue for the Snakemake scripts: logging to the rule's log file and clear errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .errors import DiskFullError, InputError
from .util import DISK_FULL, disk_full_error, setup_logging


def run_step(snakemake, step: Callable[[], object]) -> None:
    """Run ``step`` with logging to ``snakemake.log[0]``.

    An :class:`InputError` is printed as a one-paragraph message (no traceback) to the
    log and to stderr, and the job fails; Snakemake then removes the job's outputs.
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    logger = logging.getLogger("pathverdict")
    try:
        step()
    except DiskFullError as exc:  # raised by every atomic write
        logging.raiseExceptions = False  # the log file may not take it either: no "Logging error" trace
        logger.error("rule %s: %s", snakemake.rule, exc)
        sys.exit(1)
    except InputError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except OSError as exc:
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
