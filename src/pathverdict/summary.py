"""The answer in the terminal: a short summary printed at the end of a successful run.

Read from the study-level result files (``verdict.tsv``, ``claims.tsv``, ``null.tsv``)
after Snakemake finished: per dataset the headline status of the target (rank, FDR,
status) for the first library, per claim the study's answer, and where to read more.
Nothing here computes a result; it only reports what the files say.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from .errors import InputError
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
    "samples",
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


def _power_lines(path: Path, library: str) -> dict[str, str]:
    """Per dataset, what the power of its headline method means for a "not on top" (the power rule),
    in the words of the claims page (results/calibration.tsv)."""
    if not path.is_file():
        return {}
    from .judgement import calibration

    table = read_text_table(path, calibration.TEXT_COLUMNS)
    out = {}
    for _, r in calibration.headline_rows(table, library=library).iterrows():
        verdict = calibration.power_verdict(r)
        if verdict:
            out[str(r["dataset"])] = f"{calibration.power_words(r)}: {verdict}"
    return out


def _wrap(text: str, indent: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=" " * len(indent))


def _samples(verdict: pd.DataFrame, row: pd.Series) -> str:
    """What the samples say of a dataset's headline answer (verdict.tsv's ``samples``), '' without it or
    when its samples could not be checked (a DE table: the null column says "not tested (DE table)", the
    verdict's note and samples.html say why)."""
    from .judgement.samples import NOT_CHECKED
    from .judgement.verdict import samples_text

    text = samples_text(verdict, row) if "samples" in verdict.columns else ""
    return "" if text.startswith(NOT_CHECKED) else text


def _relative(paths: str) -> str:
    """Config file path(s) relative to the working directory when they are inside it."""
    out = []
    for p in paths.split():
        try:
            out.append(str(Path(p).resolve().relative_to(Path.cwd().resolve())))
        except ValueError:
            out.append(p)
    return " ".join(out)


def _replication_line(path: Path, width: int) -> list[str]:
    """The replication answer across datasets (``replication.tsv``, rule replication), when there is one."""
    if not path.is_file():
        return []
    from .judgement import replication

    text = replication.terminal_line(replication.read_replication(path), width)
    return text.split("\n") if text else []


def terminal_summary(
    results_dir: str | Path,
    *,
    target: str,
    configfile: str | None = None,
    simulated: bool = False,
    width: int = 100,
    claims: list[str] | None = None,
) -> str:
    """The summary text; empty when the verdict of this results folder does not exist. ``claims``
    are the ids of the study's claims in the config's order (default: as ``claims.tsv`` lists them)."""
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
            if str(r.get("informative", "")) == "not tested":
                null_p[r["dataset"]] = "not tested (DE table)"
            elif str(r.get("informative", "yes")) != "yes" or pd.isna(p):
                null_p[r["dataset"]] = "uninformative"
            else:
                null_p[r["dataset"]] = _num(p) + (
                    " (smallest possible)" if not pd.isna(min_p) and float(p) <= float(min_p) else ""
                )
    power = _power_lines(results / "calibration.tsv", first_lib)
    claims_tab = _read(results / "claims.tsv")
    # a negative control's check is that the target is not on top: power does not qualify it (the power rule)
    controls = (
        set() if claims_tab is None else set(claims_tab.loc[claims_tab["claim"] == "negative_control", "dataset"])
    )
    name_w = max([len(str(d)) for d in head["dataset"]] + [7])
    lines.append(
        f"  {'dataset'.ljust(name_w)}  {'status'.ljust(12)}  {'rank'.rjust(8)}  {'p'.ljust(8)}  "
        f"{'FDR'.ljust(8)}" + ("  null p (set score)" if null_p else "")
    )
    sample_notes = 0
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
        samples = _samples(verdict, r)
        if samples:
            sample_notes += 1
            samples = f"  {' ' * name_w}  ↳ samples: {samples}"
            lines.append(samples if len(samples) <= width else samples[: width - 1] + "…")
        if status == "not on top" and str(r["dataset"]) in power and str(r["dataset"]) not in controls:
            lines += _wrap(power[str(r["dataset"])], f"  {' ' * name_w}  ↳ ", width)
    if claims_tab is not None and len(claims_tab):
        from .judgement import claims as _claims

        summary = _claims.summarise(claims_tab, claims)
        per_claim = " · ".join(f"{k} {v}" for k, v in summary.items() if k not in ("study", "negative_control"))
        lines.append(f"Claims: {per_claim}")
        lines += _replication_line(results / "replication.tsv", width)
        if "negative_control" in summary:
            lines.append(f"Negative control (target expected not on top): {summary['negative_control']}")
        lines.append(f"Study: {summary.get('study', '').upper()}")
    lines.append(f"Details: {results / 'claims.html'} (claims), {results / 'verdict.html'} (all methods)")
    if sample_notes:
        lines.append(f"Samples: {results / 'samples.html'} (QC, confounding, leaving one sample out)")
    cf = f" --configfile {_relative(configfile)}" if configfile else ""
    lines.append(f"Report: ./run.sh{cf} --report report.html")
    lines.append("=" * width)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- which config made a study's results
# Each study has its own folder (results/<study>/, named by the config's `study:` or the first
# config file's name) with a record, ``.pathverdict-run.json``, of the config file(s) that made it:
# written when a run starts (the study's owner) and completed with the datasets when it succeeds.

DEFAULT_CONFIG = "config/config.yaml"


def _configs(configfiles: list[str]) -> list[str]:
    """Config file paths as recorded: relative to the working directory when inside it; the default
    config when none was given."""
    return [_relative(str(c)) for c in configfiles] or [DEFAULT_CONFIG]


def _read_record(path: Path) -> dict | None:
    import json

    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_record(path: Path, record: dict) -> None:
    from .util import write_json

    if _read_record(path) != record:
        write_json(record, path)


def claim_study(path: str | Path, study: str, configfiles: list[str]) -> None:
    """When a run starts: record which config file(s) this study's folder belongs to, unless a
    record is there already (:func:`check_study_owner` has refused a run of another config)."""
    path = Path(path)
    if path.is_file():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_record(path, {"study": study, "configfiles": _configs(configfiles)})
    except OSError as exc:
        raise _not_writable(exc, path, "the run cannot start: nothing was run") from None


def _not_writable(exc: OSError, path: Path, what: str) -> OSError | InputError:
    """One message for a study folder that cannot be written (a read-only results/, a read-only
    mount): the folder, why, and the fix; other errors as they are."""
    from .smk import NOT_WRITABLE

    if exc.errno not in NOT_WRITABLE:
        return exc
    folder = Path(exc.filename).parent if exc.filename else path.parent
    return InputError(
        f"cannot write {path} in {folder}: {exc.strerror or exc} -- the folder {folder} is read-only (or belongs to "
        f"someone else); {what}. Make it writable (e.g. chmod u+w {folder}, or remount it read-write) or run in a "
        "directory you can write to, then run the same command again."
    )


def record_run(path: str | Path, datasets: list[str], configfiles: list[str], study: str) -> None:
    """After a successful run: which config file(s) and datasets the study's results come from
    (read by :func:`check_report_config` when a report is built)."""
    path = Path(path)
    if not path.parent.is_dir():  # a dry run or a run that made no results
        return
    record = {"study": study, "configfiles": _configs(configfiles), "datasets": list(datasets)}
    try:
        _write_record(path, record)
    except OSError as exc:
        raise _not_writable(exc, path, "the results were made, but the record of which config made them not") from None


def end_of_run(
    record_path: str | Path,
    datasets: list[str],
    configfiles: list[str],
    *,
    study: str,
    target: str,
    simulated: bool = False,
    claims: list[str] | None = None,
) -> None:
    """The end of every successful run (Snakefile): record which config made the study's folder
    and print the answer (:func:`terminal_summary`) of the results beside the record; ``claims``
    are the ids of the study's claims, in the config's order."""
    try:
        record_run(record_path, datasets, configfiles, study)
    except InputError as exc:  # the folder became read-only during the run: say so, then the answer
        print(f"Error: {exc}", file=sys.stderr)
    print(
        terminal_summary(
            Path(record_path).parent,
            target=target,
            configfile=" ".join(map(str, configfiles)) or None,
            simulated=simulated,
            claims=claims,
        ),
        end="",
        flush=True,
    )


def _command(configfiles: list[str], *args: str) -> str:
    given = [] if configfiles == [DEFAULT_CONFIG] else configfiles
    cf = f" --configfile {' '.join(given)}" if given else ""
    return "./run.sh" + "".join(f" {a}" for a in args) + cf


def check_study_owner(path: str | Path, study: str, configfiles: list[str]) -> str | None:
    """None when the study folder of ``path`` is new or was made by the same (first) config file;
    else the message that refuses to mix two configs' results in one folder, with the fix."""
    path = Path(path)
    record = _read_record(path) if path.is_file() else None
    if not record or not record.get("configfiles"):
        return None
    made, current = list(record["configfiles"]), _configs(configfiles)
    if made[0] == current[0]:
        return None
    folder = path.parent
    return (
        f"{folder}/ holds the results of study {study!r} made with {' '.join(made)}; {' '.join(current)} names "
        f"the same study (its `study:` key, or its file name when it has none). Two configs in one study "
        f"folder would mix their results. Fix: give this config its own name (e.g. `study: "
        f"{study}_2` in {current[0]}, or --config study=NAME), or, to replace that study, remove {folder}/ "
        f"(and resources/{study}/, logs/{study}/) first."
    )


def check_report_config(path: str | Path, datasets: list[str], configfiles: list[str], study: str) -> str | None:
    """None when the study's folder holds results of these datasets (or nothing is recorded and its
    verdict exists); else the message saying what is missing and the command that makes it."""
    path = Path(path)
    current = _configs(configfiles)
    folder = path.parent
    run, report = _command(current), _command(current, "--report report.html")
    record = _read_record(path) if path.is_file() else None
    if not (folder / "verdict.tsv").is_file():
        return (
            f"Study {study!r} has no results yet: {folder}/verdict.tsv does not exist. Run it first "
            f"({run}), then build its report ({report})."
        )
    if record is not None and "datasets" not in record:
        return (
            f"Study {study!r} has no finished run yet (the last run in {folder}/ did not finish). Run it "
            f"first ({run}), then build its report ({report})."
        )
    if record is None or sorted(record.get("datasets", [])) == sorted(datasets):
        return None
    return (
        f"The results in {folder}/ were made with the datasets {', '.join(record['datasets'])}; "
        f"{' '.join(current)} now lists {', '.join(datasets)}. Run it first ({run}), then build its "
        f"report ({report})."
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
