"""Downloading one file over HTTP: streamed to a `.part` file beside the target, resumed with a Range
request after a cut connection (also in a later run), retried with backoff, checked against its
size and sha256, and only then renamed into place. Knows nothing about the registry or torch.

Environment:
  PAINT_MIRROR      http://host:port/prefix/ ; a download of scheme://HOST/PATH goes to PREFIX/HOST/PATH
  PAINT_TIMEOUT     seconds to wait for data from a server before retrying (default 30)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from paintcli import __version__
from paintcli.errors import ChecksumError, DownloadError
from paintcli.progress import ProgressHook

CHUNK = 1 << 16
PERMANENT_HTTP_ERRORS = {400, 401, 403, 404, 410}  # retrying these cannot help


def mirror_url(url: str) -> str:
    """`url` rewritten through $PAINT_MIRROR, or unchanged when no mirror is set."""
    mirror = os.environ.get("PAINT_MIRROR", "").strip()
    if not mirror:
        return url
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return mirror.rstrip("/") + "/" + parts.netloc + rest


@dataclass(frozen=True)
class DownloadSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 3  # further attempts after the first
    backoff: float = 1.0  # seconds before the first retry; doubles each time

    @classmethod
    def from_env(cls) -> DownloadSettings:
        value = os.environ.get("PAINT_TIMEOUT")
        return cls(read_timeout=float(value)) if value else cls()


class _Incomplete(Exception):
    """The connection ended before the whole file arrived; the part file is kept for resuming."""


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    sha256_prefix: str | None = None,
    size: int | None = None,
    progress: ProgressHook | None = None,
    settings: DownloadSettings | None = None,
) -> Path:
    """Download `url` to `dest` atomically, resuming and retrying; verify it; return `dest`."""
    settings = settings or DownloadSettings.from_env()
    progress = progress or ProgressHook()
    source = mirror_url(url)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            _transfer(source, part, size=size, progress=progress, settings=settings)
            break
        except (_Incomplete, requests.RequestException) as exc:
            last_error = exc
        finally:
            progress.stop()
    else:
        raise DownloadError(
            f"could not download {source} after {settings.retries + 1} attempts ({_describe(last_error)})",
            "check the network (or PAINT_MIRROR) and run the command again; it resumes where it stopped",
        )
    _verify(part, source, sha256=sha256, sha256_prefix=sha256_prefix)
    os.replace(part, dest)
    return dest


def _transfer(url: str, part: Path, *, size: int | None, progress: ProgressHook, settings: DownloadSettings) -> None:
    """One attempt: append to `part` from where it stops. Raises on any shortfall."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset == size:
        return  # a previous run got every byte; only the check is left
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    headers = {"User-Agent": f"paintcli/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    timeout = (settings.connect_timeout, settings.read_timeout)
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and offset:  # our part is already whole (size unknown)
            return
        if response.status_code in PERMANENT_HTTP_ERRORS:
            raise DownloadError(
                f"{url} answered HTTP {response.status_code} {response.reason}",
                "the file may have moved; check the URL, or PAINT_MIRROR if you use one",
            )
        response.raise_for_status()
        if offset and not _resumes_at(response, offset):
            offset = 0  # the server ignored our Range; start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else size
        if total is not None:
            _check_disk_space(part.parent, total - offset)
        progress.start(part.name.removesuffix(".part"), total, offset)
        received = offset
        with open(part, "ab" if offset else "wb") as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                received += len(chunk)
                progress.advance(len(chunk))
    if total is not None and received < total:
        raise _Incomplete(f"connection closed at {received} of {total} bytes")


def _resumes_at(response: requests.Response, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    return response.status_code == 206 and content_range.startswith(f"bytes {offset}-")


def _check_disk_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DownloadError(
            f"not enough disk space in {folder}: {needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free",
            "free some space or move the cache with PAINT_CACHE_DIR",
        )


def _verify(part: Path, url: str, *, sha256: str | None, sha256_prefix: str | None) -> None:
    if not (sha256 or sha256_prefix):
        return
    digest = sha256_file(part)
    expected = sha256 or sha256_prefix or ""
    if not digest.startswith(expected.lower()):
        part.unlink()
        raise ChecksumError(
            f"{url} does not match its published checksum (sha256 {digest[:16]}..., expected {expected[:16]}...)",
            "the download or the mirror is corrupt; run the command again, or fix the mirror",
        )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _describe(exc: Exception | None) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was cut"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return str(exc) or type(exc).__name__
