"""Unpacking dataset archives (zip, tar.gz) safely.

Every member is checked before anything is written: no absolute paths, no `..`, no links or device
files, nothing that would land outside the target folder. Extraction goes into a temporary folder
beside the target, which is renamed into place only when complete and of the expected layout.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from paintcli.errors import PaintError


class ArchiveError(PaintError):
    """An archive that is unsafe, damaged, or not laid out as expected."""


def extract(archive: Path, target: Path, *, layout: Sequence[str] = (), top: str | None = None) -> Path:
    """Unpack `archive` into the folder `target` (which must not exist yet) and return it.

    If the archive holds a single top-level folder (or one named `top`), its contents become
    `target`. `layout` names sub-folders that must exist afterwards.
    """
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.extracting")
    staging.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, staging)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, staging)
        else:
            raise ArchiveError(f"{archive.name} is neither a zip nor a tar archive", "delete it and download again")
        root = _content_root(staging, top)
        missing = [name for name in layout if not (root / name).is_dir()]
        if missing:
            raise ArchiveError(
                f"{archive.name} does not have the expected layout (missing {', '.join(missing)})",
                "the archive may be incomplete or of another dataset",
            )
        os.replace(root, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _content_root(staging: Path, top: str | None) -> Path:
    children = [p for p in staging.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if top and (staging / top).is_dir():
        return staging / top
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return staging


def _safe_member_path(name: str, staging: Path) -> Path:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and pure.parts[0].endswith(":")) or ".." in pure.parts:
        raise ArchiveError(f"the archive member {name!r} would be written outside the target folder", "the archive is unsafe; it was not extracted")
    dest = (staging / pure).resolve()
    if not dest.is_relative_to(staging.resolve()):
        raise ArchiveError(f"the archive member {name!r} escapes the target folder", "the archive is unsafe; it was not extracted")
    return dest


def _extract_zip(archive: Path, staging: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # check everything before writing anything
            _safe_member_path(info.filename, staging)
            mode = info.external_attr >> 16
            if mode and (mode & 0o170000) == 0o120000:
                raise ArchiveError(f"the archive member {info.filename!r} is a symbolic link", "the archive is unsafe; it was not extracted")
        for info in members:
            dest = _safe_member_path(info.filename, staging)
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _extract_tar(archive: Path, staging: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            _safe_member_path(member.name, staging)
            if not (member.isfile() or member.isdir()):
                kind = "link" if member.issym() or member.islnk() else "special file"
                raise ArchiveError(f"the archive member {member.name!r} is a {kind}", "the archive is unsafe; it was not extracted")
        for member in members:
            dest = _safe_member_path(member.name, staging)
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            if src is None:
                continue
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
