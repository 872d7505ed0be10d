"""Download one URL to one file: atomic, validated, retried, cached, with provenance.

:func:`fetch` is the only function here that touches the network. What it guarantees:

* **Atomic.** The body is streamed to a temporary file in the destination directory
  (:func:`pathverdict.util.atomic_file`), validated, and only then renamed over the
  destination. An interrupted,
  truncated or invalid download never leaves a file at the destination.
* **Validated.** By file name: ``.gz`` files are decompressed completely (gzip CRC and
  length), tar archives (``.tar``, ``.tar.gz``, ``.tgz``) are listed and checked for
  truncation, ``.zip`` archives are tested, ``.json`` files are parsed. An optional
  ``validate(path)`` callable runs afterwards (see :func:`fetch` for its contract), and an
  optional ``expect_sha256`` is compared.
* **Provenance.** Beside the file, ``<file>.source.json`` records the URL, the UTC
  retrieval time, sha256, size and the server's Last-Modified/ETag.
* **Cached.** A file whose sidecar names the same URL and whose size and sha256 still
  match the sidecar is reused without any network access (not even a HEAD request).
* **Retried** with exponential backoff on timeouts, connection errors, HTTP 5xx, 408 and
  429 (honouring ``Retry-After``), and on a body that fails validation. **Not** retried:
  404/410 and other 4xx (a :class:`DownloadError` naming what was asked for and the URL).
  urllib3's :class:`~urllib3.util.Retry`, mounted on the requests session, does the
  counting, the backoff and ``Retry-After`` for the request; failures after the response
  started (an interrupted or truncated body, a body that fails validation) draw on the
  same Retry budget (:meth:`Retry.increment` / :meth:`Retry.sleep`).
* **Locked.** Two processes fetching the same file are serialised with a
  :class:`filelock.FileLock` (``.<name>.lock`` beside it); the second finds the cached copy.
* **Offline.** ``offline=True`` never opens a connection: a file missing from the cache
  fails at once with the path to put it at. A file placed there by hand (no sidecar) is
  validated and adopted in offline mode.

:class:`Downloader` bundles the cache directory and network settings so the functions of
:mod:`.eutils`, :mod:`.geo` and :mod:`.libraries` can be called with one object.

This module holds :func:`fetch` (one attempt, offline adoption) and :class:`Downloader`; the
rest lives by concern and is importable from here as well: :mod:`.download_cache` (records,
sidecars, cache lookup, lock), :mod:`.download_checks` (format validation) and
:mod:`.download_http` (session, retry policy, how failures are told).
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from urllib3.exceptions import MaxRetryError
from urllib3.util import Retry

from .. import __version__
from ..errors import InputError
from ..util import atomic_file, write_json
from .download_cache import (  # noqa: F401 - the public names of sources.download
    CHUNK,
    SIDECAR_SUFFIX,
    FetchRecord,
    _record_from_sidecar,
    cache_lock,
    cached,
    read_sidecar,
    resolve_dest,
    sha256_file,
    sidecar_path,
    utc_now,
)
from .download_checks import (  # noqa: F401
    Validator,
    builtin_validator,
    check_gzip,
    check_json,
    check_tar,
    check_zip,
)
from .download_http import (  # noqa: F401
    MAX_DELAY,
    NO_NETWORK_SIGNS,
    RETRY_STATUSES,
    USER_AGENT,
    _chunks,
    _describe,
    _html_excerpt,
    _mount,
    _no_network,
    _Retry,
    _Retryable,
    session,
)

log = logging.getLogger(__name__)

BINARY_SUFFIXES = (".gz", ".tgz", ".tar", ".zip", ".bz2", ".xz", ".zst", ".xlsx")


class DownloadError(InputError):
    """A download that cannot be done: not found (4xx), still failing after all retries,
    invalid content, or missing from the cache in offline mode.

    A subclass of :class:`~pathverdict.errors.InputError`, so the Snakemake adapters print
    its message (which names what was asked for, the URL and the fix) without a traceback.
    ``status`` is the HTTP status when the server refused (e.g. 404), ``offline`` is True
    when the file was missing from the cache in offline mode.
    """

    def __init__(self, message: str, status: int | None = None, offline: bool = False):
        super().__init__(message)
        self.status = status
        self.offline = offline


def _validate(tmp: Path, name: str, validate: Validator | None) -> None:
    """Run the built-in and the custom check. ValueError & co. -> retryable; InputError -> final."""
    for check in (builtin_validator(name), validate):
        if check is None:
            continue
        try:
            ok = check(tmp)
        except InputError:
            raise
        except (ValueError, OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise _Retryable(f"the downloaded file is not valid: {exc}") from exc
        if ok is False:
            raise _Retryable("the downloaded file is not valid (the content check failed)")


# --------------------------------------------------------------------------- one download


OFFLINE_DEMO = "config/demo.yaml"


def no_network_message(what: str, url: str, path: Path) -> str:
    """The one message for a download that failed because there is no network."""
    return (
        f"No network: {what} could not be downloaded (the name {urlsplit(url).hostname} cannot be resolved). "
        f"Missing file: {path} (from {url}). Either run where the network is reachable, or download it "
        f"elsewhere and put it at {path} (it is checked and adopted; `downloads: {{offline: true}}` then "
        f"makes sure nothing is fetched). The offline demo needs no network: "
        f"./run.sh --configfile {OFFLINE_DEMO}"
    )


def _gave_up(what: str, url: str, path: Path, attempts: int, timeout: float, last: object, hint: str) -> DownloadError:
    return DownloadError(
        f"{what}: could not download {url} ({attempts} attempt(s), timeout {timeout:g} s); last error: {last}. "
        f"Check the network connection (and proxy settings such as HTTPS_PROXY) and try again later; or "
        f"download the file yourself, place it at {path} and run in offline mode. {hint}".strip()
    )


def _attempt(
    url: str,
    path: Path,
    *,
    what: str,
    hint: str,
    timeout: float,
    params: dict | None,
    validate: Validator | None,
    expect_sha256: str | None,
    sess: requests.Session,
    retry: Retry,
    attempts: int,
) -> FetchRecord:
    """One request (urllib3 retries it as :func:`_Retry.policy` says) and its body. Raises
    :class:`_Retryable` for a failure after the response started, with the Retry budget left;
    a failure that used up the budget (``attempts`` in all) is the final :class:`DownloadError`."""
    # atomic_file: a hidden ".pathverdict-tmp.<random>.<name>" that ends like the real name, so
    # that validators can go by the suffix (.gz, .tar, ...); renamed over ``path`` only when valid
    with atomic_file(path) as out:
        tmp = Path(out.name)
        try:
            resp = sess.get(url, params=params, stream=True, timeout=timeout)
        except requests.RequestException as exc:
            if _no_network(exc):  # not retried: a name that cannot be resolved stays so for the next seconds
                raise DownloadError(no_network_message(what, url, path)) from exc
            raise _gave_up(what, url, path, attempts, timeout, _describe(exc), hint) from exc
        with resp:
            retry = getattr(resp.raw, "retries", None) or retry  # what urllib3 has used of the budget
            code = resp.status_code
            if code in (404, 410):
                raise DownloadError(
                    f"{what}: not found at {url} (HTTP {code} {resp.reason}). {hint}".strip(), status=code
                )
            if code in RETRY_STATUSES:  # urllib3 retried it until the budget was used up
                raise _gave_up(what, url, path, attempts, timeout, f"HTTP {code} {resp.reason}", hint)
            if code >= 400:
                raise DownloadError(
                    f"{what}: the server refused the request for {url} (HTTP {code} "
                    f"{resp.reason}); this is not retried. {hint}".strip(),
                    status=code,
                )
            ctype = resp.headers.get("Content-Type", "")
            if ctype.lower().startswith("text/html") and path.name.lower().endswith(BINARY_SUFFIXES):
                raise DownloadError(
                    f"{what}: {url} answered with a web page instead of the file "
                    f"({_html_excerpt(resp)!r}); the file probably does not exist there. {hint}".strip()
                )
            # keep .gz files compressed even when a server labels them Content-Encoding: gzip
            encoding = resp.headers.get("Content-Encoding", "").lower()
            raw = bool(encoding) and path.name.lower().endswith((".gz", ".tgz"))
            h = hashlib.sha256()
            size = 0
            chunks = _chunks(resp, raw)
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise _Retryable(f"transfer interrupted after {size} bytes ({_describe(exc)})", retry) from exc
                out.write(chunk)
                h.update(chunk)
                size += len(chunk)
            expected = resp.headers.get("Content-Length")
            if expected and expected.isdigit() and (raw or not encoding) and int(expected) != size:
                raise _Retryable(f"incomplete transfer: {size} of {expected} bytes", retry)
            last_modified = resp.headers.get("Last-Modified")
            etag = resp.headers.get("ETag")
            final_url = resp.url if resp.history else None
        out.close()
        try:
            _validate(tmp, path.name, validate)
        except _Retryable as exc:
            exc.retry = retry
            raise
        digest = h.hexdigest()
        if expect_sha256 and digest != expect_sha256.lower():
            raise _Retryable(f"sha256 {digest} differs from the expected {expect_sha256.lower()}", retry)
    meta = {
        "url": url,
        "what": what,
        "retrieved": utc_now(),
        "sha256": digest,
        "size": size,
        "last_modified": last_modified,
        "etag": etag,
        "content_type": ctype or None,
        "origin": "download",
        "tool": f"pathverdict {__version__}",
    }
    if final_url and params is None:  # (with secret params the final URL would contain them)
        meta["redirected_to"] = final_url
    write_json(meta, sidecar_path(path))
    log.info("downloaded %s -> %s (%d bytes, sha256 %s)", url, path, size, digest)
    return _record_from_sidecar(path, meta, from_cache=False)


def _adopt(url: str, path: Path, what: str, validate: Validator | None, expect_sha256: str | None) -> FetchRecord:
    """Take a file placed by hand at ``path`` (offline mode): validate it and write its sidecar."""
    try:
        _validate(path, path.name, validate)
    except _Retryable as exc:
        raise DownloadError(
            f"{what}: the file placed at {path} is not usable: {str(exc).replace('the downloaded', 'the')}"
            f". Replace it with an intact copy of {url}."
        ) from None
    digest = sha256_file(path)
    if expect_sha256 and digest != expect_sha256.lower():
        raise DownloadError(
            f"{what}: the file placed at {path} has sha256 {digest}, not the expected "
            f"{expect_sha256.lower()}. Replace it with the right copy of {url}."
        )
    mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    meta = {
        "url": url,
        "what": what,
        "retrieved": mtime,
        "sha256": digest,
        "size": path.stat().st_size,
        "last_modified": None,
        "etag": None,
        "content_type": None,
        "origin": "placed by hand",
        "adopted": utc_now(),
        "tool": f"pathverdict {__version__}",
    }
    write_json(meta, sidecar_path(path))
    log.warning("%s: using %s placed by hand (not downloaded; recorded as the copy of %s)", what, path, url)
    return _record_from_sidecar(path, meta, from_cache=True)


def fetch(
    url: str,
    dest: str | Path,
    *,
    cache_dir: str | Path | None,
    offline: bool = False,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    expect_sha256: str | None = None,
    validate: Validator | None = None,
    what: str = "",
    hint: str = "",
    params: dict | None = None,
    session_: requests.Session | None = None,
) -> FetchRecord:
    """Download ``url`` to ``dest`` (relative to ``cache_dir`` when relative) unless cached.

    ``retries`` is the number of retries after the first attempt (urllib3's
    :class:`~urllib3.util.Retry`, see :meth:`_Retry.policy`): the first retry follows at once,
    retry *n* after ``backoff * 2**(n-1)`` seconds (or the server's ``Retry-After``), at most
    :data:`MAX_DELAY`. ``timeout`` applies to connecting and to each read from the socket.

    ``validate(path)`` checks the temporary file before it is moved into place. It may
    raise ``ValueError`` (or return ``False``) for content that a new attempt might fix
    (a truncated or garbled transfer, an error answer from a busy server): the download is
    retried. It raises :class:`~pathverdict.errors.InputError` for content that is wrong
    for good (another format than expected): that is reported at once.

    ``what`` (e.g. ``"series matrix of GSE12345"``) and ``hint`` make the error messages
    say what was asked for and how to fix it. ``params`` are query parameters sent but not
    recorded (API keys); the recorded URL, which the cache is keyed on, is ``url``.

    Returns a :class:`FetchRecord`; raises :class:`DownloadError`.
    """
    path = resolve_dest(dest, cache_dir)
    what = what or path.name
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(
            f"{what}: {url} is not an http(s) URL; only http and https are supported (NCBI's FTP "
            "site is also served as https://ftp.ncbi.nlm.nih.gov/)."
        )
    rec = cached(url, path, expect_sha256)
    if rec is not None:
        log.info("%s: using cached %s (sha256 %s)", what, path, rec.sha256)
        return rec
    if offline:
        if path.is_file() and read_sidecar(path) is None:
            return _adopt(url, path, what, validate, expect_sha256)
        meta = read_sidecar(path)
        why = "is not in the download cache"
        if path.is_file() and meta and meta.get("url") != url:
            why = f"is in the download cache only as the copy of another URL ({meta.get('url')})"
        elif path.is_file():
            why = "is in the download cache but no longer matches its recorded checksum"
        raise DownloadError(
            f"{what} {why}, and downloads are switched off (offline mode). Missing: {path} (from {url}). Run "
            f"once with network access and offline mode off to fill the cache, or download {url} yourself "
            f"and place it at {path} (it is checked and adopted in offline mode).",
            offline=True,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    retry = _Retry.policy(retries, backoff, what=what, url=url)
    attempts = retry.total + 1  # one budget for the requests (urllib3) and the bodies (below)
    sess = session_ or session()
    adapter = _mount(sess, retry)
    try:
        with cache_lock(path):
            rec = cached(url, path, expect_sha256)  # another job may have fetched it while we waited
            if rec is not None:
                return rec
            while True:
                adapter.max_retries = retry  # the budget left for this request
                try:
                    return _attempt(
                        url,
                        path,
                        what=what,
                        hint=hint,
                        timeout=timeout,
                        params=params,
                        validate=validate,
                        expect_sha256=expect_sha256,
                        sess=sess,
                        retry=retry,
                        attempts=attempts,
                    )
                except _Retryable as exc:  # the body failed: a new attempt from the same budget
                    try:
                        retry = (exc.retry or retry).increment("GET", url, error=exc)
                    except MaxRetryError:
                        raise _gave_up(what, url, path, attempts, timeout, exc, hint) from exc
                    retry.sleep()
    finally:
        adapter.close()
        if session_ is None:
            sess.close()


# --------------------------------------------------------------------------- settings bundle


@dataclass(frozen=True)
class Downloader:
    """The download cache and network settings shared by the source functions.

    ``cache_dir`` holds every downloaded file (with its ``.source.json`` sidecar) under a
    readable layout (``geo/GSE12345/...``, ``eutils/...``, ``kegg/...``, ``enrichr/...``,
    ``ncbi_gene/...``); it survives Snakemake re-runs and can be shared between projects.
    """

    cache_dir: Path
    offline: bool = False
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0

    KEYS = ("cache_dir", "offline", "timeout", "retries", "backoff")

    def __post_init__(self):
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    @classmethod
    def from_config(cls, cfg: dict | None, default_cache_dir: str | Path = "resources/downloads") -> "Downloader":
        """Build from a config mapping with the keys of :attr:`KEYS` (all optional)."""
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - set(cls.KEYS))
        if unknown:
            raise InputError(f"download settings: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(cls.KEYS)}.")
        cfg.setdefault("cache_dir", default_cache_dir)
        return cls(**cfg)

    def path(self, dest: str | Path) -> Path:
        return resolve_dest(dest, self.cache_dir)

    def fetch(self, url: str, dest: str | Path, **kwargs) -> FetchRecord:
        return fetch(
            url,
            dest,
            cache_dir=self.cache_dir,
            offline=self.offline,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            **kwargs,
        )
