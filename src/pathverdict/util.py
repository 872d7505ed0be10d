"""Small shared helpers: atomic file writing and logging setup."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", compress: bool | None = None):
    """Write to a temporary file beside ``path`` and rename it into place on success.

    A failure (or a kill) never leaves a partial ``path`` behind. With ``compress`` None,
    paths ending in ``.gz`` are gzip-compressed (with a fixed mtime, so output is
    byte-reproducible); ``compress=False`` writes the bytes as they are (copying a file
    that is already compressed).
    """
    if compress is None:
        compress = Path(path).name.endswith(".gz")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
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
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_tsv(df: pd.DataFrame, path: str | Path, index: bool = False) -> None:
    with atomic_write(path) as fh:
        df.to_csv(fh, sep="\t", index=index, float_format="%.6g", lineterminator="\n")


def write_json(obj, path: str | Path) -> None:
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")


def read_tsv(path: str | Path, **kwargs) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", **kwargs)


def setup_logging(log_path: str | Path | None) -> logging.Logger:
    """Log INFO and above to ``log_path`` (and WARNING and above to stderr)."""
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
    root.addHandler(sh)
    return root
