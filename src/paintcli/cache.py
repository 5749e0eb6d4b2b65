"""The user cache and the downloader.

Layout: `<root>/{weights,models,datasets}/<filename>` (for example `~/.cache/paintcli/weights/vgg19-dcbb9e9d.pth`), with
`<root>` from platformdirs, moved by PAINT_CACHE_DIR. A download streams into `<file>.part` beside
its target, resumes that part with an HTTP Range request after a cut connection (also in a later
run), checks size and sha256, and only then renames it into place; a per-file lock keeps two
processes from fetching the same file at once. Nothing here imports torch or rich: progress is
reported through a small hook object that the CLI renders.

Environment:
  PAINT_CACHE_DIR   cache root (default: the platform's user cache dir for "paintcli")
  PAINT_OFFLINE=1   never touch the network; a missing file is an error that says how to get it
  PAINT_MIRROR      http://host:port/prefix/ ; a download of scheme://HOST/PATH goes to PREFIX/HOST/PATH
  PAINT_TIMEOUT     seconds to wait for data from a server before retrying (default 30)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import requests
from filelock import FileLock

from paintcli import __version__
from paintcli.atomic import atomic_path, write_bytes
from paintcli.errors import ChecksumError, DownloadError, OfflineError
from paintcli.progress import ProgressHook
from paintcli.registry import Entry, get as registry_entry

CHUNK = 1 << 16
FOLDERS = {"weights": "weights", "model": "models", "dataset": "datasets"}  # cache sub-folder per kind
PERMANENT_HTTP_ERRORS = {400, 401, 403, 404, 410}  # retrying these cannot help


# --- where things live ---------------------------------------------------------------------------


def cache_root() -> Path:
    """The cache folder: $PAINT_CACHE_DIR, or the platform's user cache dir for paintcli."""
    override = os.environ.get("PAINT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("paintcli", appauthor=False))


def offline() -> bool:
    return os.environ.get("PAINT_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def mirror_url(url: str) -> str:
    """`url` rewritten through $PAINT_MIRROR, or unchanged when no mirror is set."""
    mirror = os.environ.get("PAINT_MIRROR", "").strip()
    if not mirror:
        return url
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return mirror.rstrip("/") + "/" + parts.netloc + rest


def path_for(entry: Entry) -> Path:
    """Where `entry` lives: inside the installed package if bundled, else in the cache.

    For a dataset this is the extracted folder; its archive is only kept while being unpacked.
    """
    if entry.bundled:
        return Path(str(resources.files("paintcli") / "data" / entry.filename))
    path = cache_root() / FOLDERS[entry.kind] / entry.filename
    if entry.kind == "dataset":
        return path.with_name(path.name.removesuffix(".zip").removesuffix(".tar.gz"))
    return path


def archive_path(entry: Entry) -> Path:
    return cache_root() / FOLDERS[entry.kind] / entry.filename


def is_cached(entry: Entry) -> bool:
    path = path_for(entry)
    return path.is_dir() if entry.kind == "dataset" else path.is_file()


def fetch(entry: Entry, *, progress: ProgressHook | None = None, settings: DownloadSettings | None = None) -> Path:
    """The local path of `entry` (a file, or a dataset's folder), downloading it first if needed."""
    dest = path_for(entry)
    if is_cached(entry):
        if not entry.bundled and entry.kind != "dataset":
            _check_recorded_hash(entry, dest)
        return dest
    if entry.bundled:
        raise DownloadError(
            f"the bundled file {dest} is missing from this installation",
            "reinstall paintcli (pip install --force-reinstall paintcli)",
        )
    file = archive_path(entry)
    if offline():
        raise OfflineError(
            f"{entry.name} ({file.name}) is not in the cache and PAINT_OFFLINE=1 forbids downloading",
            f"fetch {entry.urls[0]} and save it as {file}, or run `paint download {entry.name}` online",
        )
    if entry.archive:
        return _extract_member(entry, fetch(registry_entry(entry.archive), progress=progress, settings=settings))
    file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(file) + ".lock"):
        if is_cached(entry):  # another process finished it while we waited
            return dest
        if not file.is_file():
            _download_any(entry, file, progress=progress, settings=settings)
        if entry.kind != "dataset":
            _check_recorded_hash(entry, file)  # records it the first time
            return file
        from paintcli.archives import extract

        extract(file, dest, layout=entry.layout, top=dest.name)
        file.unlink()
        _record_file(file).unlink(missing_ok=True)
        return dest


def _extract_member(entry: Entry, archive: Path) -> Path:
    """Copy `entry.member` out of the (already verified) zip `archive` to the entry's own path."""
    import zipfile

    dest = path_for(entry)
    with FileLock(str(dest) + ".lock"):  # the same per-file lock as downloads: one copy at a time
        if dest.is_file():
            return dest
        try:
            with atomic_path(dest) as tmp, zipfile.ZipFile(archive) as zf, zf.open(entry.member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise DownloadError(
                f"{archive.name} does not hold {entry.member} ({type(exc).__name__})",
                f"delete {archive} and run `paint download {entry.name}` again",
            ) from None
    return dest


def _download_any(entry: Entry, file: Path, *, progress, settings) -> None:
    errors = []
    for url in entry.urls:
        try:
            download(
                url, file, sha256=entry.sha256, sha256_prefix=entry.sha256_prefix, size=entry.size,
                progress=progress, settings=settings,
            )  # fmt: skip
            return
        except ChecksumError:
            raise
        except DownloadError as exc:
            errors.append(exc)
    raise errors[-1]


# Files whose publishers give no hash get theirs recorded on first download, in `<file>.sha256`
# beside them, so that later corruption (a disk error, a half-copied file) is caught before use.


def _record_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _check_recorded_hash(entry: Entry, path: Path) -> None:
    if entry.sha256 or entry.sha256_prefix:
        return  # verified against the published hash when it was downloaded
    record = _record_file(path)
    digest = sha256_file(path)
    if not record.is_file():
        write_bytes(record, f"{digest}  {path.stat().st_size}\n".encode())
        return
    expected = record.read_text().split()[0]
    if digest != expected:
        raise ChecksumError(
            f"{path} has changed since it was downloaded (sha256 {digest[:12]}..., recorded {expected[:12]}...)",
            f"delete it and run `paint download {entry.name}` again",
        )


# --- downloading ----------------------------------------------------------------------------------


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
