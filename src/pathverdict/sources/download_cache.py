"""The download cache: what a download leaves (:class:`FetchRecord`, the ``<file>.source.json``
sidecar beside the file), the lookup that reuses a cached copy without any network access
(:func:`cached`), and the lock that serialises two processes fetching the same file.
Used by :func:`pathverdict.sources.download.fetch`; importable from there as well."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

SIDECAR_SUFFIX = ".source.json"
CHUNK = 1 << 20


@dataclass(frozen=True)
class FetchRecord:
    """A file obtained by :func:`fetch` and where it came from."""

    url: str
    path: Path
    sha256: str
    size: int
    retrieved: str  # UTC, ISO 8601; when the bytes were downloaded (not when reused)
    from_cache: bool
    last_modified: str | None = None  # the server's Last-Modified header, when sent
    what: str = ""
    origin: str = "download"  # "download", or "placed by hand" (adopted in offline mode)

    def provenance(self) -> dict:
        """JSON-ready description (for provenance files and the report)."""
        return {
            "what": self.what,
            "url": self.url,
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "retrieved": self.retrieved,
            "last_modified": self.last_modified,
            "from_cache": self.from_cache,
            "origin": self.origin,
        }


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: str | Path) -> dict | None:
    """The provenance sidecar of ``path`` (None when absent or unreadable)."""
    try:
        with open(sidecar_path(path), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resolve_dest(dest: str | Path, cache_dir: str | Path | None) -> Path:
    """``cache_dir / dest`` for a relative ``dest`` when a cache directory is given, else ``dest``."""
    dest = Path(dest)
    if cache_dir is not None and not dest.is_absolute():
        dest = Path(cache_dir) / dest
    return dest


def _record_from_sidecar(path: Path, meta: dict, from_cache: bool) -> FetchRecord:
    return FetchRecord(
        url=meta["url"],
        path=path,
        sha256=meta["sha256"],
        size=int(meta["size"]),
        retrieved=meta.get("retrieved") or "",
        from_cache=from_cache,
        last_modified=meta.get("last_modified"),
        what=meta.get("what", ""),
        origin=meta.get("origin", "download"),
    )


def cached(url: str, path: str | Path, expect_sha256: str | None = None) -> FetchRecord | None:
    """The cached copy of ``url`` at ``path`` if its sidecar matches (URL, size, sha256), else None.

    Reads only local files; the sha256 is recomputed, so a file changed after download is
    not reused.
    """
    path = Path(path)
    meta = read_sidecar(path)
    if not meta or not path.is_file() or meta.get("url") != url:
        return None
    try:
        if int(meta.get("size", -1)) != path.stat().st_size:
            return None
    except (TypeError, ValueError):
        return None
    digest = sha256_file(path)
    if digest != meta.get("sha256") or (expect_sha256 and digest != expect_sha256.lower()):
        return None
    return _record_from_sidecar(path, meta, from_cache=True)


def cache_lock(path: str | Path) -> FileLock:
    """The lock (``.<name>.lock`` beside ``path``) held while ``path`` is fetched."""
    path = Path(path)
    return FileLock(path.with_name(f".{path.name}.lock"))
