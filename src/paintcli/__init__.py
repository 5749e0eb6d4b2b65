"""paintcli: turn photos into art with deep learning.

Importing this package is cheap: it loads no model, imports no torch and touches no network.
The heavy pieces are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "stylize", "GatysConfig"]

if TYPE_CHECKING:  # pragma: no cover
    from paintcli.config import GatysConfig
    from paintcli.engines.gatys import stylize


def __getattr__(name: str) -> Any:
    # Lazy exports keep `import paintcli` (and `paint --help`) free of torch.
    if name == "stylize":
        from paintcli.engines.gatys import stylize

        return stylize
    if name == "GatysConfig":
        from paintcli.config import GatysConfig

        return GatysConfig
    raise AttributeError(f"module 'paintcli' has no attribute {name!r}")
