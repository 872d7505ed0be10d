"""The format checks :func:`pathverdict.sources.download.fetch` applies to a downloaded file by
its name (gzip, tar, zip and Excel .xlsx, JSON). Each raises ``ValueError`` when the file is not intact;
importable from :mod:`pathverdict.sources.download` as well."""

from __future__ import annotations

import gzip
import json
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from .download_cache import CHUNK

Validator = Callable[[Path], object]


def check_gzip(path: str | Path) -> None:
    """Decompress ``path`` completely; raises ValueError when it is not intact gzip."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not an intact gzip file ({exc})") from exc


_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def _is_compressed(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(6)
    return head.startswith(_MAGIC)


def check_tar(path: str | Path) -> None:
    """List every member of a (possibly compressed) tar archive; raises ValueError when the
    archive cannot be read to its end or a member's data runs past the end of the file."""
    path = Path(path)
    size = path.stat().st_size
    try:
        compressed = _is_compressed(path)
        with tarfile.open(path, "r:*") as tar:
            n = 0
            for member in tar:
                n += 1
                if not compressed and member.offset_data + member.size > size:
                    raise ValueError(
                        f"member {member.name!r} is truncated (archive is {size} bytes, the member "
                        f"needs {member.offset_data + member.size})"
                    )
            if n == 0:
                raise ValueError("the archive has no members")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not a readable tar archive ({exc})") from exc


def check_zip(path: str | Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a readable zip archive ({exc})") from exc
    if bad is not None:
        raise ValueError(f"zip member {bad!r} is corrupt")


def check_json(path: str | Path) -> None:
    with open(path, "rb") as fh:
        json.loads(fh.read().decode("utf-8"))  # ValueError (JSONDecodeError/UnicodeDecodeError)


def builtin_validator(name: str) -> Validator | None:
    """The format check :func:`fetch` applies to a file called ``name``."""
    low = name.lower()
    if low.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        return check_tar
    if low.endswith(".gz"):
        return check_gzip
    if low.endswith((".zip", ".xlsx")):  # an Excel workbook is a zip archive
        return check_zip
    if low.endswith(".json"):
        return check_json
    return None
