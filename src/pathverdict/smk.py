"""Glue for the Snakemake scripts: logging to the rule's log file and clear errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .errors import InputError
from .util import setup_logging


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
    except InputError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except Exception:
        logger.exception("step failed in rule %s", snakemake.rule)
        raise
