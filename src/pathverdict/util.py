"""Small shared helpers: atomic file writing, reading tables with string identifiers, logging setup."""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import logging
import os
import re
import secrets
import shutil
import sys
from pathlib import Path

import pandas as pd

try:  # the words pandas reads as missing by default
    from pandas._libs.parsers import STR_NA_VALUES
except ImportError:  # pragma: no cover - private module moved
    STR_NA_VALUES = {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }

from .errors import DiskFullError


# Every file the workflow writes goes through :func:`atomic_file`: a temporary file named
# ``.pathverdict-tmp.<pid>.<random>.<name>`` beside the destination (hidden; ending like the real
# name, so that format checks can go by the suffix), renamed over the destination on success. The
# prefix is ours alone: a run killed with -9 leaves such files behind, and the next run removes
# them (:func:`remove_stale_temp_files`, called when the workflow starts).
TEMP_PREFIX = ".pathverdict-tmp."
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def temp_name(path: str | Path) -> Path:
    """A fresh temporary name for ``path``, in the same directory (so the rename is atomic)."""
    path = Path(path)
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}.{secrets.token_hex(4)}.{path.name}")


def _free_space(directory: Path) -> str:
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return "unknown"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if free < 1024 or unit == "TB":
            return f"{free:.0f} {unit}" if unit == "bytes" else f"{free:.1f} {unit}"
        free /= 1024
    return "unknown"  # pragma: no cover


def disk_full_error(path: str | Path, exc: OSError) -> DiskFullError:
    """The message for a write to ``path`` that failed for lack of space (or quota)."""
    path = Path(path)
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "no space left on device"
    return DiskFullError(
        f"{what} while writing {path} ({_free_space(path.parent)} free on the file system of "
        f"{path.parent.resolve()}). Nothing partial was kept. Free some space there (or run the workflow in a "
        "directory on a larger disk) and run the same command again: the finished steps are not redone."
    )


@contextlib.contextmanager
def atomic_file(path: str | Path):
    """Open a temporary binary file beside ``path``; on success rename it to ``path``.

    The temporary file is created like any other file (mode 0666 minus the umask), so results
    are as readable as the user's other files (``tempfile.mkstemp`` would make them 0600). A
    failure or a kill never leaves a partial ``path``; on failure the temporary file is removed.
    ``fh.name`` is the temporary path (to validate the content before the rename; the
    file may be closed inside the block). A full disk or quota raises :class:`DiskFullError`
    with one clear message.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = temp_name(path)
        try:
            fh = open(tmp, "xb")  # O_CREAT | O_EXCL, mode 0666 & ~umask
            break
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"could not create a temporary file beside {path}")
    try:
        try:
            with fh:
                yield fh
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise disk_full_error(path, exc) from exc
            raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", compress: bool | None = None, compresslevel: int = 9):
    """Write to ``path`` atomically (see :func:`atomic_file`), as text unless ``mode`` has "b".

    With ``compress`` None, paths ending in ``.gz`` are gzip-compressed (with a fixed mtime, so
    output is byte-reproducible) at ``compresslevel``; ``compress=False`` writes the bytes as
    they are (copying a file that is already compressed).
    """
    if compress is None:
        compress = Path(path).name.endswith(".gz")
    with atomic_file(path) as raw:
        if compress:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=compresslevel) as gz:
                fh = io.TextIOWrapper(gz, encoding="utf-8", newline="") if "b" not in mode else gz
                yield fh
                if fh is not gz:
                    fh.flush()
                    fh.detach()
        else:
            fh = io.TextIOWrapper(raw, encoding="utf-8", newline="") if "b" not in mode else raw
            yield fh
            if fh is not raw:
                fh.flush()
                fh.detach()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _writer_alive(pid: int, path: Path) -> bool:
    """Whether the process that created the temporary file ``path`` (``pid`` from its name) may
    still be writing it: a process with that pid runs, is not a zombie (a killed job its parent
    has not reaped yet: it writes nothing more) and started before the file was last written (a
    process started later is not the writer: the pid was reused after the writer ended). Without
    psutil, or where the process cannot be inspected, any process with that pid counts as alive
    (the file is kept: keeping is the safe side)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a requirement
        return _alive(pid)
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        started = proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except (psutil.AccessDenied, OSError):
        return _alive(pid)
    try:
        written = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    # create_time is derived from the boot time in clock ticks (1/100 s): a second of slack keeps
    # the file of a writer started just before it
    return started <= written + 1.0


def remove_stale_temp_files(*roots: str | Path) -> list[Path]:
    """Remove our temporary files (``.pathverdict-tmp.<pid>.*``) under ``roots``; returns them.

    Called when a run starts (Snakemake has locked the outputs it will write). Such files are
    left by a run killed during a write. A file whose writer may still be writing it is kept
    (another run in the same directory): :func:`_writer_alive` -- a zombie, or a process that
    started after the file was written (a reused pid), is not its writer. A file that cannot be
    removed (a read-only folder) is left and not reported."""
    removed = []
    pattern = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)\.[0-9a-f]+\.")
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for p in root.rglob(f"{TEMP_PREFIX}*"):
            m = pattern.match(p.name)
            if not m or not (p.is_file() or p.is_symlink()):
                continue
            pid = int(m.group(1))
            if pid != os.getpid() and _writer_alive(pid, p):
                continue
            with contextlib.suppress(OSError):  # gone meanwhile, or a read-only folder
                p.unlink()
                removed.append(p)
    return removed


# how write_tsv writes a float: 6 significant digits
FLOAT_FORMAT = "%.6g"


def write_tsv(df: pd.DataFrame, path: str | Path, index: bool = False) -> None:
    with atomic_write(path) as fh:
        df.to_csv(fh, sep="\t", index=index, float_format=FLOAT_FORMAT, lineterminator="\n")


def as_written(df: pd.DataFrame, reader, **kwargs) -> pd.DataFrame:
    """``df`` as a later step reads it back after :func:`write_tsv` (``reader``: the step's reader, e.g.
    ``io.read_de``): floats at the 6 significant digits of the file. A step that recomputes what
    another step computed from a file (the null's and leave-one-sample-out's re-runs of the
    enrichment) starts from the same numbers: ties and thresholds (padj < 0.05) fall the same way."""
    buffer = io.StringIO()
    df.to_csv(buffer, sep="\t", index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    buffer.seek(0)
    return reader(buffer, **kwargs)


def write_json(obj, path: str | Path) -> None:
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")


# Columns that hold identifiers or names: always read as text, and never turned into NaN by
# pandas' default missing-value words (a gene called NA or NULL, a sample called "nan"); only an
# empty cell is missing there (that is how write_tsv writes a missing value).
ID_COLUMNS = frozenset(
    {
        "gene_id",
        "symbol",
        "sample",
        "dataset",
        "term",
        "term_id",
        "library",
        "method",
        "top_term",
        "gene",
        "overlap_genes",
        "leading_edge",
    }
)


def read_tsv(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read a tab-separated table written by the workflow (or a user's sample sheet).

    Identifier columns (:data:`ID_COLUMNS`, and the index column when ``index_col`` is given)
    are read as strings with only empty cells missing; other columns keep pandas' usual
    missing-value parsing. ``keep_default_na`` / ``na_values`` given by the caller win."""
    if "keep_default_na" in kwargs or "na_values" in kwargs or kwargs.get("na_filter") is False:
        return pd.read_csv(path, sep="\t", **kwargs)
    header = list(pd.read_csv(path, sep="\t", nrows=0).columns)
    if hasattr(path, "seek"):  # a buffer (as_written): read it again from its start
        path.seek(0)
    ids = {c for c in header if c in ID_COLUMNS}
    index_col = kwargs.get("index_col")
    if isinstance(index_col, int) and index_col < len(header):
        ids.add(header[index_col])
    elif isinstance(index_col, str):
        ids.add(index_col)
    if not ids:
        return pd.read_csv(path, sep="\t", **kwargs)
    dtype = kwargs.pop("dtype", None)
    if isinstance(dtype, dict):
        dtype = {**{c: str for c in ids}, **dtype}
    elif dtype is None:
        dtype = {c: str for c in ids}
    default_na = set(STR_NA_VALUES)
    na_values = {c: ({""} if c in ids else default_na) for c in header}
    return pd.read_csv(path, sep="\t", dtype=dtype, keep_default_na=False, na_values=na_values, **kwargs)


def read_text_table(path: str | Path, text) -> pd.DataFrame:
    """A table the workflow wrote: the columns named in ``text`` as strings, read as they are (a
    dataset or term called "NA", "null" or "None" keeps its name); in the other columns only an
    empty cell is missing (that is how :func:`write_tsv` writes a missing value)."""
    head = pd.read_csv(path, sep="\t", nrows=0).columns
    text_cols = {c: str for c in head if c in set(text)}
    return pd.read_csv(
        path, sep="\t", dtype=text_cols, keep_default_na=False, na_values={c: [""] for c in head if c not in text_cols}
    )


class _FirstOfEachKind(logging.Filter):
    """Lets through the first warning of each kind (logger + message template) to the
    terminal; the repeats (one per relabeling, gene, ...) are only in the log file, and
    their number is printed when the step ends. Errors always pass."""

    def __init__(self, log_path):
        super().__init__()
        self.seen: set = set()
        self.dropped = 0
        self.log_path = log_path

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        key = (record.name, str(record.msg))
        if key in self.seen:
            self.dropped += 1
            return False
        self.seen.add(key)
        return True

    def report(self) -> None:
        if self.dropped:
            where = f" (all of them in {self.log_path})" if self.log_path else ""
            print(f"... and {self.dropped} more warning(s) like the above{where}", file=sys.stderr)


def setup_logging(log_path: str | Path | None) -> logging.Logger:
    """Log INFO and above to ``log_path`` (and WARNING and above to stderr, the first of
    each kind only: repeats are counted, and in the log file)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_path, mode="w")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    sh = logging.StreamHandler()
    sh.setLevel(logging.WARNING)
    sh.setFormatter(fmt)
    sh.addFilter(_FirstOfEachKind(log_path))
    root.addHandler(sh)
    return root


def report_dropped_warnings() -> None:
    """Print how many repeated warnings :func:`setup_logging` kept off the terminal (once, at
    the end of a step: :func:`pathverdict.smk.run_step` calls it)."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, _FirstOfEachKind):
                f.report()
                f.dropped = 0


@contextlib.contextmanager
def quiet_logging(level: int = logging.ERROR):
    """Drop log records at ``level`` and below while many enrichments (or DE fits) run.

    gseapy gives every ``enrich`` call a new logger with its own stderr handler, so
    "No hits returned for all input gene sets!" (a DE list with no gene in any set,
    which :func:`enrichment.ora` turns into an empty table) would be printed once per
    grid cell or permutation; ``logging.disable`` is the only switch that reaches it.
    """
    before = logging.root.manager.disable
    logging.disable(level)
    try:
        yield
    finally:
        logging.disable(before)
