"""The config files of a run, checked before Snakemake reads them (issue 24).

Snakemake loads ``--configfile`` files on its command line before the workflow runs any code, and
says only "Config file is not valid JSON or YAML" (no file, no line), "must be given as JSON or
YAML with keys at top level" (an empty file), or shows a ``FileNotFoundError`` traceback (a file
that does not exist). ``run.sh`` therefore runs this module first (``python -m
pathverdict.configfiles ARGS``: the config files among Snakemake's arguments), and the Snakefile
checks its default ``config/config.yaml`` the same way. One message per file: the file, the line
and column of a YAML error with the line's text, and the fix. Only ``yaml`` is imported (the
check costs ~0.1 s of the run's start).
"""

from __future__ import annotations

import sys
from pathlib import Path

REQUIRED = "datasets, genesets, target_pathway and annotation"
EXAMPLE = "config/demo.yaml"


def problem(path: str | Path) -> str | None:
    """What is wrong with config file ``path`` as Snakemake would read it (JSON or YAML, a mapping at
    the top level), or None."""
    import yaml

    p = Path(path)
    if not p.exists():
        return (
            f"{path}: config file not found (paths are relative to {Path.cwd()}). Check its name, or start from "
            f"the offline demo: ./run.sh --configfile {EXAMPLE}"
        )
    if p.is_dir():
        return f"{path} is a folder, not a config file. Give a YAML file, e.g. --configfile {EXAMPLE}"
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8 (plain text) YAML."
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror or exc}). Check its permissions."
    try:
        config = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        return _syntax_error(path, text, exc)
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error carries a mark
        return f"{path}: not valid YAML ({exc})."
    if config is None:
        return (
            f"{path} is empty{' (only comments)' if text.strip() else ''}: a config file needs the keys {REQUIRED} "
            f"at the top level. Start from a copy of {EXAMPLE} (offline demo) or config/config.yaml."
        )
    if not isinstance(config, dict):
        kind = "list" if isinstance(config, list) else f"single value ({str(config)[:40]!r})"
        return (
            f"{path}: the top level is a {kind}, not `key: value` pairs; a config file needs the keys {REQUIRED} "
            f"at the top level, without indentation or a leading '-' (see {EXAMPLE})."
        )
    return None


def _syntax_error(path, text: str, exc) -> str:
    """The YAML error at its line and column (1-based, as an editor shows them), with the line's text;
    an error at the end of the file (an unclosed bracket or quote) at the line where that began."""
    lines = text.splitlines()
    problem, context = exc.problem_mark, exc.context_mark
    mark = problem if problem is not None and problem.line < len(lines) else (context or problem)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    what = exc.problem or "syntax error"
    if exc.context and context is not None:
        what += f" {exc.context} that starts at line {context.line + 1}, column {context.column + 1}"
    if "\\t" in what:
        what += " (a tab: YAML indents with spaces only)"
    shown = ""
    if mark is not None and mark.line < len(lines):
        shown = f"\n    {lines[mark.line].replace(chr(9), '→')}\n    {' ' * mark.column}^"
    return (
        f"{path}{where}: not valid YAML: {what}.{shown}\nFix the file there: indent with spaces, one `key: value` "
        "per line, close every bracket and quote, and quote values that contain ': ' or ' #'."
    )


def configfile_args(argv: list[str]) -> list[str]:
    """The files given to Snakemake's ``--configfile``/``--configfiles`` (several may follow one
    option, up to the next option; also ``--configfile=FILE``)."""
    files, taking = [], False
    for arg in argv:
        if arg.startswith("-"):
            taking = arg in ("--configfile", "--configfiles")
            for opt in ("--configfile=", "--configfiles="):
                if arg.startswith(opt):
                    files.append(arg[len(opt) :])
            continue
        if taking:
            files.append(arg)
    return files


def main(argv: list[str] | None = None) -> int:
    """Check the config files among Snakemake's arguments ``argv``; print one message per bad file
    to stderr. Exit status 0 when all are good (or none is given), 1 otherwise."""
    problems = [m for m in map(problem, configfile_args(sys.argv[1:] if argv is None else argv)) if m]
    for message in problems:
        print(f"Error: {message}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
