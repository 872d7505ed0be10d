"""The answer in the terminal: a short summary printed at the end of a successful run.

Read from the study-level result files (``verdict.tsv``, ``claims.tsv``, ``null.tsv``)
after Snakemake finished: per dataset the headline status of the target (rank, FDR,
status) for the first library, per claim the study's answer, and where to read more.
Nothing here computes a result; it only reports what the files say.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .util import read_text_table

TEXT_COLUMNS = [
    "dataset",
    "library",
    "method",
    "target",
    "status",
    "on_top",
    "note",
    "claim",
    "holds",
    "role",
    "informative",
    "selection_aware",
]


def _read(path: Path) -> pd.DataFrame | None:
    return read_text_table(path, TEXT_COLUMNS) if path.is_file() else None


def _num(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    if x != x:  # NaN
        return "–"
    return str(int(x)) if x.is_integer() and abs(x) < 1e6 else f"{x:.2g}"


def _status(row: pd.Series) -> str:
    status = str(row.get("status", "") or "")
    if not status:
        status = "on_top" if row.get("on_top") == "yes" else "not_on_top"
    return status.replace("_", " ")


def _p(row: pd.Series) -> str:
    """The p-value, as a bound ("< 0.001") where the verdict marks it as one (GSEA at its floor)."""
    bound = str(row.get("p_bound", "")).strip().lower() in ("true", "1", "yes")
    return ("< " if bound else "") + _num(row.get("pvalue"))


def _relative(paths: str) -> str:
    """Config file path(s) relative to the working directory when they are inside it."""
    out = []
    for p in paths.split():
        try:
            out.append(str(Path(p).resolve().relative_to(Path.cwd().resolve())))
        except ValueError:
            out.append(p)
    return " ".join(out)


def terminal_summary(
    results_dir: str | Path, *, target: str, configfile: str | None = None, simulated: bool = False, width: int = 100
) -> str:
    """The summary text; empty when the verdict of this results folder does not exist."""
    results = Path(results_dir)
    verdict = _read(results / "verdict.tsv")
    if verdict is None or verdict.empty:
        return ""
    lines = []
    title = f" pathverdict: is {target} on top?{' (SIMULATED study)' if simulated else ''} "
    lines.append(title.center(width, "="))
    primary = verdict[verdict["primary"].astype(str).str.lower().isin(["true", "1", "yes"])]
    first_lib = str(verdict["library"].iloc[0])
    head = primary[primary["library"] == first_lib]
    if len(head):
        lines.append(f"{first_lib}, {head['method'].iloc[0]} (headline method):")
    null = _read(results / "null.tsv")
    null_p = {}
    if null is not None and len(null) and "method" in null.columns:
        for _, r in null[(null["method"] == "set_score") & (null["library"] == first_lib)].iterrows():
            p, min_p = r.get("empirical_p"), r.get("min_p")
            if str(r.get("informative", "yes")) != "yes" or pd.isna(p):
                null_p[r["dataset"]] = "uninformative"
            else:
                null_p[r["dataset"]] = _num(p) + (
                    " (smallest possible)" if not pd.isna(min_p) and float(p) <= float(min_p) else ""
                )
    name_w = max([len(str(d)) for d in head["dataset"]] + [7])
    lines.append(
        f"  {'dataset'.ljust(name_w)}  {'status'.ljust(12)}  {'rank'.rjust(8)}  {'p'.ljust(8)}  "
        f"{'FDR'.ljust(8)}" + ("  null p (set score)" if null_p else "")
    )
    for _, r in head.iterrows():
        status = _status(r)
        ranked = not pd.isna(pd.to_numeric(r.get("rank"), errors="coerce"))
        rank = f"{_num(r['rank'])}/{_num(r['n_terms'])}" if ranked else "–"
        p = _p(r) if ranked else "–"
        fdr = _num(r["fdr"]) if ranked else "–"
        line = (
            f"  {str(r['dataset']).ljust(name_w)}  {status.ljust(12)}  {rank.rjust(8)}  {p.ljust(8)}  "
            f"{fdr.ljust(8)}" + (f"  {null_p.get(r['dataset'], '–')}" if null_p else "")
        )
        lines.append(line.rstrip())
        note = str(r.get("note", "") or "")
        if note.startswith(status + ": "):
            note = note[len(status) + 2 :]
        if note and status != "on top":
            note = f"  {' ' * name_w}  ↳ {note}"
            lines.append(note if len(note) <= width else note[: width - 1] + "…")
    claims_tab = _read(results / "claims.tsv")
    if claims_tab is not None and len(claims_tab):
        from . import claims

        summary = claims.summarise(claims_tab)
        per_claim = " · ".join(f"{k} {v}" for k, v in summary.items() if k not in ("study", "negative_control"))
        lines.append(f"Claims: {per_claim}")
        if "negative_control" in summary:
            lines.append(f"Negative control (target expected not on top): {summary['negative_control']}")
        lines.append(f"Study: {summary.get('study', '').upper()}")
    lines.append(f"Details: {results / 'claims.html'} (claims), {results / 'verdict.html'} (all methods)")
    cf = f" --configfile {_relative(configfile)}" if configfile else ""
    lines.append(f"Report: ./run.sh{cf} --report report.html")
    lines.append("=" * width)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- which config made results/


def record_run(path: str | Path, datasets: list[str], configfiles: list[str]) -> None:
    """After a successful run: which config file(s) and datasets the results in
    ``results/`` come from (read by :func:`check_report_config` when a report is built)."""
    import json

    from .util import write_json

    path = Path(path)
    if not path.parent.is_dir():  # a dry run or a run that made no results
        return
    record = {"configfiles": [_relative(c) for c in configfiles], "datasets": list(datasets)}
    try:
        if path.is_file() and json.loads(path.read_text()) == record:
            return
    except (OSError, ValueError):
        pass
    write_json(record, path)


def end_of_run(
    record_path: str | Path, datasets: list[str], configfiles: list[str], *, target: str, simulated: bool = False
) -> None:
    """The end of every successful run (Snakefile): record which config made ``results/`` and
    print the answer (:func:`terminal_summary`) of the results folder beside the record."""
    record_run(record_path, datasets, configfiles)
    print(
        terminal_summary(
            Path(record_path).parent, target=target, configfile=" ".join(configfiles) or None, simulated=simulated
        ),
        end="",
        flush=True,
    )


def _command(configfiles: list[str], *args: str) -> str:
    cf = f" --configfile {' '.join(configfiles)}" if configfiles else ""
    return "./run.sh" + "".join(f" {a}" for a in args) + cf


def check_report_config(path: str | Path, datasets: list[str], configfiles: list[str]) -> str | None:
    """None when the results in ``results/`` were made with these datasets (or nothing is
    recorded); else the message saying which config they came from and the command that
    builds their report."""
    import json

    path = Path(path)
    current = [_relative(c) for c in configfiles]
    here = " ".join(current) if current else "config/config.yaml (the default)"
    if not path.is_file():
        if not (path.parent / "verdict.tsv").is_file():
            return (
                f"No results to report on: {path.parent}/verdict.tsv does not exist. Run the workflow first "
                f"({_command(current)}), then build the report ({_command(current, '--report report.html')})."
            )
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if sorted(record.get("datasets", [])) == sorted(datasets):
        return None
    made = record.get("configfiles") or []
    made_text = " ".join(made) if made else "config/config.yaml (the default)"
    return (
        f"The results in {path.parent}/ come from {made_text} (datasets: {', '.join(record.get('datasets', []))}),"
        f" not from {here} (datasets: {', '.join(datasets)}). Build their report with:\n"
        f"  {_command(made, '--report report.html')}\n"
        f"or run this config first ({_command(current)}; it replaces the study-level results)."
    )


# --------------------------------------------------------------------------- the answer after a run with nothing to do


class NothingToDoWatcher:
    """Notices Snakemake's "Nothing to be done" in the main process and, at interpreter exit,
    calls ``callback`` (the end of a successful run: record the run, print the answer).

    Snakemake (9.x, ``Workflow.execute``) returns right after logging
    ``snakemake.common.NOTHING_TO_BE_DONE_MSG`` when every requested file is up to date and
    does not call ``onsuccess``: a warm run would end without the answer. The watcher is a
    filter on Snakemake's logger (filters of a logger survive the handlers Snakemake replaces
    when it sets up its logging); it only records that the message was logged, never drops a
    record. ``active()`` says whether the callback is due (``skip`` returns True for a dry
    run or ``--no-hooks``; it is asked at exit, when those settings are known).
    """

    def __init__(self, callback, skip=lambda: False):
        self.callback = callback
        self.skip = skip
        self.seen = False

    def filter(self, record) -> bool:
        from snakemake.common import NOTHING_TO_BE_DONE_MSG

        if not self.seen and record.getMessage() == NOTHING_TO_BE_DONE_MSG:
            self.seen = True
        return True

    def active(self) -> bool:
        return self.seen and not self.skip()

    def at_exit(self) -> None:
        if self.active():
            self.callback()


def watch_nothing_to_do(callback, skip=lambda: False) -> NothingToDoWatcher:
    """Install a :class:`NothingToDoWatcher` on Snakemake's logger and at interpreter exit."""
    import atexit

    from snakemake.logging import logger

    watcher = NothingToDoWatcher(callback, skip)
    logger.addFilter(watcher)
    atexit.register(watcher.at_exit)
    return watcher
