"""Glue for the Snakemake scripts: logging to the rule's log file and clear errors."""

from __future__ import annotations

import atexit
import errno
import inspect
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

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


def share_package_path() -> None:
    """Put this package's source folder first on ``PYTHONPATH`` (for the Snakefile): the jobs of
    the rules' scripts are new Python processes (also in a conda env or on a cluster node) and then
    import this same code, whether or not their environment installed the package."""
    src = str(Path(__file__).resolve().parents[1])
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *rest])


def _value(value):
    """A declared file as ``str``, a list of them (an ``expand``, maybe empty) as a list of ``str``."""
    if isinstance(value, str):
        return str(value)
    return [str(v) for v in value]


def _named(namedlist) -> dict:
    return dict(namedlist.items())


def step_arguments(snakemake, step: Callable) -> dict:
    """The keyword arguments of ``step`` from what its rule declares: an input ``X`` is passed as
    ``X``, an output ``X`` as ``out_X``, a param ``X`` as ``X``, a wildcard ``X`` as ``X`` (unless
    an input or param has that name) and ``threads`` as ``threads``. A parameter of ``step`` the
    rule does not declare keeps its default, or is an error naming the rule and the parameter;
    so a step reads exactly the files and settings its rule declares."""
    declared: dict[str, object] = {}
    sources: dict[str, str] = {}
    for kind, items in (
        ("input", {k: _value(v) for k, v in _named(snakemake.input).items()}),
        ("output", {f"out_{k}": _value(v) for k, v in _named(snakemake.output).items()}),
        ("params", _named(snakemake.params)),
    ):
        for name, value in items.items():
            if name in declared:
                raise TypeError(f"rule {snakemake.rule}: {name!r} is declared both in {sources[name]} and in {kind}")
            declared[name], sources[name] = value, kind
    for name, value in _named(snakemake.wildcards).items():
        declared.setdefault(name, str(value))
    declared["threads"] = snakemake.threads
    kwargs = {}
    for name, param in inspect.signature(step).parameters.items():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{step.__qualname__}: parameter {name!r} must be keyword-only (after `*`)")
        if name in declared:
            kwargs[name] = declared[name]
        elif param.default is inspect.Parameter.empty:
            raise TypeError(
                f"rule {snakemake.rule}: step {step.__module__}.{step.__qualname__} needs {name!r}, which the rule "
                f"does not declare (it declares {', '.join(sorted(declared))})"
            )
    return kwargs


def run_step(snakemake, step: Callable) -> None:
    """Run the step function ``step`` of a rule, with logging to ``snakemake.log[0]``.

    ``step`` gets its keyword arguments from the rule's declarations (:func:`step_arguments`).
    An :class:`InputError` is printed as a one-paragraph message (no traceback), starting
    with ``rule NAME:``, to the log and to stderr, and the job fails; Snakemake then removes
    the job's outputs.
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    logger = logging.getLogger("pathverdict")
    kwargs = step_arguments(snakemake, step) if inspect.signature(step).parameters else {}
    try:
        _run(snakemake, lambda: step(**kwargs), logger)
    finally:
        report_dropped_warnings()


def run_job(snakemake, step: Callable) -> NoReturn:
    """What a rule's script runs: :func:`run_step`, then :func:`end_process` when the step
    succeeded (a failed step exits as usual, with its message)."""
    run_step(snakemake, step)
    end_process()


def end_process(code: int = 0) -> NoReturn:
    """End this job's process now: run the ``atexit`` handlers (logging's flush and close among
    them), flush stdout and stderr, then ``os._exit`` without the interpreter's teardown.

    Why: a job is a fresh Python process that imported numpy, pandas, scipy and often
    matplotlib or gseapy; freeing those modules one by one at exit costs 0.15-0.3 s of CPU per
    job and does nothing for the results (every output is written and closed by then: our
    writes are atomic, through ``util.atomic_file``). Over the demo's jobs that was 12 s of
    ~100 s CPU (benchmarks/README.md, "Time to the answer")."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be said there
            pass
    os._exit(code)


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
