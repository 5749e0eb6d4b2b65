"""Turning the command line's inputs and -o into lists of input and output files.

Shared by every command that reads photos and writes pictures: inputs may be files, folders or glob
patterns; outputs are derived from the input names unless -o says otherwise; nothing is ever
overwritten without --overwrite, and that is checked before any work starts.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

from paintcli.errors import ImageError, OutputError
from paintcli.imageio import IMAGE_SUFFIXES, check_output_path

GLOB_CHARS = set("*?[")


def collect_inputs(args: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their image files (sorted), glob patterns expanded."""
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
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


def plan_outputs(
    inputs: Sequence[Path],
    output: Path | None,
    *,
    suffix: str,
    overwrite: bool,
    extension: str = ".png",
) -> list[Path]:
    """One output path per input.

    Without -o: `<input folder>/<stem><suffix><extension>`. With -o and one input: that file (or,
    if -o is an existing folder, a derived name inside it). With -o and several inputs: a folder,
    created if needed, holding derived names.
    """
    if output is None:
        outputs = [p.with_name(f"{p.stem}{suffix}{extension}") for p in inputs]
    elif len(inputs) == 1 and not output.is_dir():
        outputs = [output]
    else:
        if output.exists() and not output.is_dir():
            raise OutputError(
                f"-o {output} is a file, but there are {len(inputs)} inputs",
                "pass a folder as -o when giving several inputs",
            )
        outputs = [output / f"{p.stem}{suffix}{extension}" for p in inputs]
    _refuse_collisions(inputs, outputs)
    if output is not None and len(inputs) > 1:
        output.mkdir(parents=True, exist_ok=True)
    for path in outputs:
        check_output_path(path, overwrite=overwrite)
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
