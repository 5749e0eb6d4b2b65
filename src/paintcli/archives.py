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
        members = []
        for info in zf.infolist():
            mode = info.external_attr >> 16
            is_link = bool(mode) and (mode & 0o170000) == 0o120000
            kind = "link" if is_link else ("dir" if info.is_dir() else "file")
            members.append((info.filename, kind, lambda info=info: zf.open(info)))
        _write_members(members, staging)


def _extract_tar(archive: Path, staging: Path) -> None:
    with tarfile.open(archive) as tf:
        members = []
        for m in tf.getmembers():
            kind = "dir" if m.isdir() else "file" if m.isfile() else "link" if (m.issym() or m.islnk()) else "special file"
            members.append((m.name, kind, lambda m=m: tf.extractfile(m)))
        _write_members(members, staging)


def _write_members(members, staging: Path) -> None:
    """Check every (name, kind, open) member first, then write; a bad one means nothing is written."""
    for name, kind, _ in members:
        _safe_member_path(name, staging)
        if kind not in {"file", "dir"}:
            raise ArchiveError(f"the archive member {name!r} is a {kind}", "the archive is unsafe; it was not extracted")
    for name, kind, open_member in members:
        dest = _safe_member_path(name, staging)
        if kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open_member() as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
