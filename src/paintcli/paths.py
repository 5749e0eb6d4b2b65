"""Turning the command line's inputs and -o into jobs: one input picture and one output file each.

Shared by every command that reads photos and writes pictures: inputs may be files, folders, glob
patterns or `-` (one picture on standard input); outputs are derived from the input names unless
-o says otherwise (`-o -`: standard output). Under torchrun each process takes every WORLD_SIZE-th
job starting at its RANK, so each input is written by exactly one process. Nothing is overwritten
without --overwrite, and that is checked before any work starts; with --skip-existing, outputs
already written are left alone, so a stopped batch continues where it stopped.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paintcli.errors import ImageError, OutputError, UsageError
from paintcli.imageio import IMAGE_SUFFIXES, check_output_path
from paintcli.video import VIDEO_SUFFIXES, WRITE_FORMATS, is_clip

GLOB_CHARS = set("*?[")
STDIO = "-"  # as an input: standard input; as -o: standard output


@dataclass(frozen=True)
class Job:
    source: Path | None  # None: standard input
    output: Path | None  # None: standard output
    frames: bool = False  # source and output are folders holding the frames of one clip

    @property
    def label(self) -> str:
        return self.source.name if self.source else "standard input"

    @property
    def clip(self) -> bool:
        """A video clip (or a folder of frames) rather than one picture."""
        return self.frames or (self.source is not None and is_clip(self.source))


@dataclass(frozen=True)
class Shard:
    """This process's share of the jobs: every `size`-th one, starting at `rank`."""

    rank: int = 0
    size: int = 1

    @classmethod
    def from_env(cls) -> Shard:
        """The share torchrun (or `--devices N`) gave this process, from RANK and WORLD_SIZE."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))

    def take(self, items: Sequence) -> list:
        return list(items[self.rank :: self.size])


@dataclass(frozen=True)
class Plan:
    jobs: list[Job]  # this process's jobs, in order
    skipped: int = 0  # its outputs that already existed (--skip-existing)


def plan_jobs(
    inputs: Sequence[str | Path],
    output: str | Path | None,
    *,
    suffix: str,
    overwrite: bool = False,
    skip_existing: bool = False,
    shard: Shard = Shard(),
    extension: str = ".png",
    frames: bool = False,
) -> Plan:
    """The jobs of this process, checked: every input exists, no two write the same file, and no
    output exists unless --overwrite or --skip-existing says what to do with it. Video clips get
    `.mp4` outputs; with `frames`, each input folder is one clip and its output a folder."""
    if frames:
        return _frame_folders(inputs, output, suffix, overwrite=overwrite, skip_existing=skip_existing, shard=shard)
    if overwrite and skip_existing:
        raise UsageError("--overwrite and --skip-existing both given", "choose one: replace existing outputs, or keep them")
    to_stdout = output is not None and str(output) == STDIO
    if STDIO in [str(i) for i in inputs]:
        if len(inputs) > 1:
            raise UsageError("- (standard input) cannot be combined with other inputs", "give - alone, or only files")
        if output is None or to_stdout:
            return Plan(shard.take([Job(None, None)]))
        target = Path(output) / f"stdin{suffix}{extension}" if Path(output).is_dir() else Path(output)
        check_output_path(target, overwrite=overwrite)
        return Plan(shard.take([Job(None, target)]))
    sources = collect_inputs(inputs)
    if to_stdout:
        if len(sources) > 1:
            raise UsageError(f"-o - writes one picture to standard output, but there are {len(sources)} inputs", "give one input, or a folder as -o")
        if is_clip(sources[0]):
            raise UsageError("-o - writes a picture to standard output, and a video clip cannot go there", "give -o clip.mp4")
        return Plan(shard.take([Job(sources[0], None)]))
    targets = output_paths(sources, Path(output) if output is not None else None, suffix=suffix, extension=extension)
    jobs = shard.take([Job(s, t) for s, t in zip(sources, targets, strict=True)])
    kept = [job for job in jobs if not (skip_existing and job.output.exists())]
    for job in kept:
        (check_clip_path if job.clip else check_output_path)(job.output, overwrite=overwrite)
    return Plan(kept, skipped=len(jobs) - len(kept))


def _frame_folders(inputs, output, suffix, *, overwrite, skip_existing, shard) -> Plan:
    folders = [Path(i) for i in inputs]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"--frames takes folders of frames, and {folder} is not one", "give the folder that holds the frames")
    if output is not None and len(folders) > 1:
        raise UsageError("-o names one folder, but there are several folders of frames", "give one folder at a time, or leave -o out")
    jobs = [Job(f, Path(output) if output is not None else f.with_name(f.name + suffix), frames=True) for f in folders]
    kept = []
    for job in shard.take(jobs):
        if job.output.exists() and any(job.output.iterdir()):
            if skip_existing:
                continue
            if not overwrite:
                raise OutputError(f"{job.output} already holds files", "pass --overwrite to replace them, or choose another -o")
        kept.append(job)
    return Plan(kept, skipped=len(jobs) - len(kept))


def check_clip_path(path: Path, *, overwrite: bool) -> None:
    """Fail before any work if a clip cannot be written to `path` as asked."""
    if path.suffix.lower() not in WRITE_FORMATS and path.suffix.lower() != ".gif":
        raise OutputError(f"cannot write {path}: unknown video type {path.suffix or '(no extension)'!r}", "end the output name with .mp4, .mov, .mkv or .gif")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists", "pass --overwrite to replace it, or choose another -o")
    if path.parent and not path.parent.exists():
        raise OutputError(f"the folder {path.parent} does not exist", "create it first, or choose another -o")


def collect_inputs(args: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their image files (sorted), glob patterns expanded."""
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            if not images:
                raise ImageError(f"the folder {path} holds no images", "put .jpg or .png files in it")
            found.extend(images)
        elif path.exists():
            found.append(path)
        elif GLOB_CHARS & set(str(arg)):
            matches = sorted(Path(m) for m in glob.glob(str(arg)) if Path(m).is_file())
            if not matches:
                raise ImageError(f"no files match {arg}", "check the pattern")
            found.extend(matches)
        else:
            raise ImageError(f"{path} does not exist", "check the path")
    return list(dict.fromkeys(found))  # a file named twice is processed once


def output_paths(inputs: Sequence[Path], output: Path | None, *, suffix: str, extension: str = ".png") -> list[Path]:
    """One output path per input.

    Without -o: `<input folder>/<stem><suffix><extension>`. With -o and one input: that file (or,
    if -o is an existing folder, a derived name inside it). With -o and several inputs: a folder,
    created if needed, holding derived names.
    """
    def named(p: Path) -> str:
        return f"{p.stem}{suffix}{'.mp4' if is_clip(p) else extension}"

    if output is None:
        outputs = [p.with_name(named(p)) for p in inputs]
    elif len(inputs) == 1 and not output.is_dir():
        outputs = [output]
    else:
        if output.exists() and not output.is_dir():
            raise OutputError(
                f"-o {output} is a file, but there are {len(inputs)} inputs",
                "pass a folder as -o when giving several inputs",
            )
        outputs = [output / named(p) for p in inputs]
    _refuse_collisions(inputs, outputs)
    if output is not None and len(inputs) > 1:
        output.mkdir(parents=True, exist_ok=True)
    return outputs


def _refuse_collisions(inputs: Sequence[Path], outputs: Sequence[Path]) -> None:
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs, strict=True):
        if dst.resolve() == src.resolve():
            raise OutputError(f"the output {dst} would replace its own input", "choose another -o")
        if dst in seen:
            raise OutputError(
                f"{seen[dst]} and {src} would both be written to {dst}",
                "rename one input, or process them in separate calls",
            )
        seen[dst] = src


def numbered(path: Path, label: str) -> Path:
    """`out.png` -> `out_<label>.png`, for intermediate images beside an output."""
    return path.with_name(f"{path.stem}_{label}{path.suffix}")
