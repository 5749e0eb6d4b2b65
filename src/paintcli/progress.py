"""How long work reports its progress without knowing who draws it (the CLI's rich bars, a notebook, nothing).

Imports nothing heavy, so the downloader and the engines can take a hook without pulling in rich.
"""

from __future__ import annotations


class ProgressHook:
    """Receives download progress; the default does nothing. The CLI passes a rich one."""

    def start(self, description: str, total: int | None, completed: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def stop(self) -> None:
        pass
