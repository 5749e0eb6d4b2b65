"""The user cache: where each registry entry lives, and `fetch`, which makes it be there.

Layout: `<root>/{weights,models,datasets}/<filename>` (for example `~/.cache/paintcli/weights/vgg19-dcbb9e9d.pth`), with
`<root>` from platformdirs, moved by PAINT_CACHE_DIR. Files are downloaded by downloader.py (resumable,
verified, renamed into place only when whole); a per-file lock keeps two processes from fetching the
same file at once; datasets are unpacked safely (archives.py); files whose publishers give no hash get
theirs recorded on first download and checked on every later use. Nothing here imports torch or rich:
progress is reported through a small hook object that the CLI renders.

Environment:
  PAINT_CACHE_DIR   cache root (default: the platform's user cache dir for "paintcli")
  PAINT_OFFLINE=1   never touch the network; a missing file is an error that says how to get it
  (PAINT_MIRROR and PAINT_TIMEOUT: see downloader.py)
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from filelock import FileLock

from paintcli.atomic import atomic_path, write_bytes
from paintcli.downloader import DownloadSettings, download, sha256_file
from paintcli.errors import ChecksumError, DownloadError, OfflineError
from paintcli.progress import ProgressHook
from paintcli.registry import Entry, get as registry_entry

FOLDERS = {"weights": "weights", "model": "models", "dataset": "datasets"}  # cache sub-folder per kind


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
