"""GEO ``_RAW.tar`` archives: every member checked before anything is read or extracted
(:func:`check_tar_members`), and extraction of the regular files (:func:`safe_extract`).
Importable from :mod:`pathverdict.sources.geo`."""

from __future__ import annotations

import fnmatch
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import InputError, preview
from ..util import atomic_file


@dataclass(frozen=True)
class TarLimits:
    """Refuse archives beyond these sizes (GEO RAW.tar files of count tables are far smaller)."""

    max_members: int = 5000
    max_member_bytes: int = 2 << 30  # 2 GiB per member, as stored
    max_total_bytes: int = 20 << 30  # 20 GiB for all members
    max_text_bytes: int = 2 << 30  # per count file after decompression (guards against gzip bombs)


# Where check_tar_members places an archive to judge its members (never created: nothing is
# extracted there; with nothing on disk, no existing link can change the answer).
_CHECK_ROOT = "/pathverdict-tar-check"


def _tar_filter():
    """tarfile's "data" extraction filter (Python 3.11.4+, 3.12+); a clear message without it."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:  # pragma: no cover - every supported Python has it
        import platform

        raise InputError(
            f"Python {platform.python_version()} has no tarfile extraction filters (tarfile.data_filter), "
            "which check the members of a GEO RAW.tar; use Python 3.11.4 or newer (./run.sh installs the "
            "project's environment)."
        )
    return data_filter


def _member_problem(m: tarfile.TarInfo, dest: str) -> str | None:
    """Why member ``m`` is refused, or None.

    tarfile's "data" extraction filter judges where the member would land below ``dest`` (a
    ``..`` leading outside, device files and FIFOs). Our policy on top, because a GEO RAW.tar
    holds plain per-sample files only: every link is refused (the filter allows links inside
    ``dest``), and so is an absolute name, POSIX or Windows (the filter strips a leading
    ``/``, and reads ``C:\\x`` as a plain name on POSIX), rather than extracted elsewhere.
    """
    if not m.name or "\x00" in m.name:
        return "empty name"
    if PureWindowsPath(m.name).anchor:  # "/x", "\\x", "C:\\x", "C:x"
        return "absolute path"
    if m.issym() or m.islnk():
        return f"{'symbolic' if m.issym() else 'hard'} link to {m.linkname!r}"
    try:
        _tar_filter()(m, dest)
    except tarfile.OutsideDestinationError:
        if ".." in PurePosixPath(m.name).parts:
            return "'..' in the path leads outside the folder it is extracted to"
        return f"would be written outside {dest} (a folder there is a link to elsewhere)"
    except tarfile.SpecialFileError:
        return "device file or FIFO"
    except tarfile.FilterError as exc:  # any other refusal, in tarfile's words
        return str(exc)
    if not (m.isreg() or m.isdir()):
        return f"unsupported entry type {m.type!r}"
    return None


def check_tar_members(
    tar_path: str | Path, limits: TarLimits = TarLimits(), dest: str | Path | None = None
) -> list[tarfile.TarInfo]:
    """Members of a tar archive, after refusing it as a whole when any member is unsafe.

    Refused (see :func:`_member_problem`): what tarfile's "data" extraction filter refuses
    for extraction below ``dest`` (``..`` leading outside, device files and FIFOs), absolute
    names, symbolic and hard links; and beyond :class:`TarLimits`: members over
    ``max_member_bytes``, archives over ``max_total_bytes`` or with more than ``max_members``
    entries. Nothing is extracted by this function.
    """
    tar_path = Path(tar_path)
    root = str(dest) if dest is not None else _CHECK_ROOT
    _tar_filter()
    problems: list[str] = []
    members: list[tarfile.TarInfo] = []
    total = 0
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for m in tar:
                if len(members) >= limits.max_members:
                    problems.append(f"more than {limits.max_members} entries")
                    break
                members.append(m)
                why = _member_problem(m, root)
                if why:
                    problems.append(f"{m.name!r}: {why}")
                if m.size > limits.max_member_bytes:
                    problems.append(f"{m.name!r}: {m.size} bytes, over the limit of {limits.max_member_bytes}")
                total += max(m.size, 0)
                if total > limits.max_total_bytes:
                    problems.append(f"more than {limits.max_total_bytes} bytes in all")
                    break
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"{tar_path}: not a readable tar archive ({exc}). Delete it to download it again.") from exc
    if problems:
        raise InputError(
            f"{tar_path}: refused, nothing was extracted or read: {preview(problems, 6)}. A GEO RAW.tar "
            "holds plain per-sample files only; if you trust this archive, extract the count files "
            "yourself and give their merged table as `counts`."
        )
    return members


def safe_extract(
    tar_path: str | Path, dest_dir: str | Path, *, pattern: str | None = None, limits: TarLimits = TarLimits()
) -> list[Path]:
    """Extract the regular files of a checked archive (optionally only names matching the glob
    ``pattern``) below ``dest_dir``; returns their paths. Directories are created as needed;
    links and special files never reach this point (:func:`check_tar_members`, which judges
    every member with tarfile's "data" filter for ``dest_dir`` itself). Each file is written
    with :func:`~pathverdict.util.atomic_file` (the umask's mode, not the archive's)."""
    tar_path, dest_dir = Path(tar_path), Path(dest_dir)
    root = dest_dir.resolve()
    members = check_tar_members(tar_path, limits, dest=root)
    out: list[Path] = []
    with tarfile.open(tar_path, "r:*") as tar:
        for m in members:
            if not m.isreg() or (pattern and not fnmatch.fnmatchcase(PurePosixPath(m.name).name, pattern)):
                continue
            target = (root / m.name).resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            with atomic_file(target) as fh, src:
                while chunk := src.read(1 << 20):
                    fh.write(chunk)
            out.append(target)
    return out
