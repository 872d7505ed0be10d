"""The network side of :func:`pathverdict.sources.download.fetch`: the requests session (our
User-Agent), the retry policy (urllib3's :class:`~urllib3.util.Retry` with what is ours, see
:class:`_Retry`), and how a failure is told (no network, timeouts). Importable from
:mod:`pathverdict.sources.download` as well."""

from __future__ import annotations

import logging
import re
from typing import Iterator

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util import Retry

from .. import __version__
from .download_cache import CHUNK

log = logging.getLogger("pathverdict.sources.download")  # its messages are the download's
# urllib3 logs its own "Retrying (Retry(total=...)) after connection broken by ..." warning for
# every retried connection; :class:`_Retry` logs one line per retry naming what was asked for, so
# urllib3's (the same event, in its internal terms) would only repeat it
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

USER_AGENT = f"pathverdict/{__version__} (python-requests/{requests.__version__})"
MAX_DELAY = 120  # cap on one backoff / Retry-After wait, seconds
RETRY_STATUSES = frozenset({408, 429, *range(500, 600)})  # retried; any other 4xx is final


class _Retryable(Exception):
    """A failure after the response started (body interrupted, truncated or invalid): retried
    with the Retry budget ``retry`` that the request left."""

    def __init__(self, message: str, retry: Retry | None = None):
        super().__init__(message)
        self.retry = retry


class _Retry(Retry):
    """urllib3's :class:`Retry` (counting, exponential backoff, ``Retry-After``) with what is ours:

    * a host name that cannot be resolved (no route to the network) is not retried: it stays
      so for the next seconds, and the one "No network" message says what to do;
    * each retry is logged with what was asked for (``what``), the attempt and the wait;
    * a ``Retry-After`` that cannot be read means the normal backoff (urllib3 would raise).

    The budget is shared with the failures after the response started (see
    :func:`pathverdict.sources.download.fetch`).
    """

    RETRY_AFTER_STATUS_CODES = RETRY_STATUSES  # a Retry-After retries no other status (urllib3: also 413)
    what = ""
    fetch_url = ""

    @classmethod
    def policy(cls, retries: int, backoff: float, *, what: str = "", url: str = "") -> "_Retry":
        """``retries`` after the first attempt, on connection errors, timeouts and
        :data:`RETRY_STATUSES` of a GET; the last answer is returned when they are used up."""
        retry = cls(
            total=max(0, int(retries)),
            connect=None,
            read=None,
            status=None,
            redirect=None,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff,
            backoff_max=MAX_DELAY,
            retry_after_max=MAX_DELAY,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.what, retry.fetch_url = what, url
        return retry

    def new(self, **kw) -> "_Retry":
        retry = super().new(**kw)
        retry.what, retry.fetch_url = self.what, self.fetch_url
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if error is not None and _no_network(error):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def sleep(self, response=None) -> None:
        last = self.history[-1] if self.history else None
        if last is not None:
            after = self.get_retry_after(response) if response is not None else None
            why = _describe(last.error) if last.error is not None else f"HTTP {last.status}"
            log.warning(
                "%s: attempt %d of %d failed for %s (%s); retrying in %.1f s",
                self.what or self.fetch_url,
                len(self.history),
                len(self.history) + (self.total or 0) + 1,
                self.fetch_url or last.url,
                why,
                after or self.get_backoff_time(),
            )
        super().sleep(response)


def session() -> requests.Session:
    """A requests session with our User-Agent (:func:`fetch` mounts its Retry policy on it)."""
    sess = requests.Session()
    sess.headers["User-Agent"] = USER_AGENT
    return sess


def _mount(sess: requests.Session, retry: Retry) -> HTTPAdapter:
    """Put ``retry`` on the HTTP(S) adapter of ``sess`` (keep-alive within one :func:`fetch`)."""
    adapter = HTTPAdapter(max_retries=retry)
    sess.mount("http://", adapter)
    sess.mount("https://", adapter)
    return adapter


def _html_excerpt(resp: requests.Response) -> str:
    try:
        text = resp.raw.read(4096, decode_content=True).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - only for the message
        return ""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:200]


def _chunks(resp: requests.Response, raw: bool) -> Iterator[bytes]:
    if raw:
        yield from resp.raw.stream(CHUNK, decode_content=False)
    else:
        yield from resp.iter_content(CHUNK)


NO_NETWORK_SIGNS = (
    "NameResolutionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "Network is unreachable",
    "No route to host",
)


def _no_network(exc: BaseException) -> bool:
    """True when the error says this machine cannot reach the network at all (the host
    name cannot be resolved, no route): retrying or checking names cannot help."""
    text = f"{type(exc).__name__}: {exc!r} {exc}"
    return any(sign in text for sign in NO_NETWORK_SIGNS)


def _describe(exc: BaseException) -> str:
    inner = exc.args[0] if isinstance(exc, requests.RequestException) and exc.args else None
    if isinstance(inner, MaxRetryError) and inner.reason is not None:  # requests' wrapper of the last error
        exc = inner.reason
    if isinstance(exc, _Retryable):  # our own words (a body that failed)
        return str(exc)
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError) and not isinstance(
        exc,
        urllib3.exceptions.NewConnectionError,  # (a subclass of ConnectTimeoutError: refused, unreachable)
    ):
        return f"timed out ({type(exc).__name__})"
    if _no_network(exc):
        return "no network (the server's name could not be resolved)"
    text = str(exc)
    if len(text) > 300:  # cut at a word, never inside one
        text = text[:300].rsplit(" ", 1)[0] + " …"
    return f"{type(exc).__name__}: {text}"
