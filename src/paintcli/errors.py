"""Errors a user can act on. Each carries what went wrong and what to do about it.

The CLI prints them as one line and exits with code 2; the Python API simply raises them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PaintError(Exception):
    """A problem with the user's input or environment, not a bug in paint."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class UsageError(PaintError):
    """An option value that cannot work (negative weight, unknown layer, ...)."""


class ImageError(PaintError):
    """An input image that is missing, unreadable, too small or too large."""


class OutputError(PaintError):
    """An output path that would overwrite a file or cannot be written."""


class DeviceError(PaintError):
    """A device that was asked for by name but is not available."""


class DownloadError(PaintError):
    """A download that failed after its retries."""


class ChecksumError(DownloadError):
    """A download whose content does not match the expected hash."""


class OfflineError(DownloadError):
    """A file that is not cached while the network is off (PAINT_OFFLINE=1)."""


class CheckpointError(PaintError):
    """A checkpoint that cannot be read or matches no known network."""


class UnknownNameError(PaintError):
    """A name that is not in a registry."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
