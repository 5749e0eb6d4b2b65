"""Training you can watch: TensorBoard events (--tensorboard) and the loss curves in losses.png.

TensorBoard gets every loss (`loss/<name>`), the learning rate (`lr`) and the speed
(`images_per_second`) at every logged step, and the sample grid (`samples`) each epoch, through
torch's own SummaryWriter into <run>/tensorboard/ (`tensorboard --logdir runs`). On resume the events
after the checkpoint's step are dropped, so the curves continue without a fold.

losses.png is drawn from metrics.jsonl at every save with matplotlib: one panel per loss, each step
faint and a moving average over it, the steps and epoch in the title. Both libraries are extras: --tensorboard
without TensorBoard is a one-line error before training starts; without matplotlib the picture is
skipped and `paint train` says so once.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import torch

from paintcli.atomic import write_bytes
from paintcli.errors import UsageError

TENSORBOARD_EXTRA = 'pip install "paintcli[tensorboard]"'
PLOTS_EXTRA = 'pip install "paintcli[plots]"'
NOT_LOSSES = {"step", "epoch", "lr", "images_per_second"}


def require_tensorboard() -> None:
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
    except ImportError:
        raise UsageError("--tensorboard needs TensorBoard, which is not installed", TENSORBOARD_EXTRA) from None


def can_plot() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardLog:
    """Scalars and sample grids of one run, in <run>/tensorboard."""

    def __init__(self, run_dir: Path, *, resumed_at: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=resumed_at)

    def scalars(self, records: list[dict]) -> None:
        for record in records:
            step = record["step"]
            for name, value in record.items():
                if name in ("step", "epoch"):
                    continue
                self.writer.add_scalar(name if name in NOT_LOSSES else f"loss/{name}", value, step)

    def samples(self, grid: torch.Tensor, step: int) -> None:
        """`grid` (3, H, W) in [0, 1]: the epoch's sample grid."""
        self.writer.add_image("samples", grid.float().clamp(0, 1).cpu(), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def plot_losses(metrics: Path, out: Path) -> Path | None:
    """Draw metrics.jsonl's losses into `out` (PNG, written atomically); None without matplotlib or data."""
    if not can_plot() or not metrics.is_file():
        return None
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    names = [k for k in records[0] if k not in NOT_LOSSES] if records else []
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display needed
    from matplotlib.figure import Figure

    steps = [r["step"] for r in records]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4.2 * columns, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    window = max(1, len(records) // 50)
    for ax, name in zip(axes.flat, names):
        values = [r.get(name, float("nan")) for r in records]
        ax.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.8)
        ax.plot(steps, _moving_average(values, window), color="tab:blue", linewidth=1.6)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    epochs = records[-1]["epoch"]
    figure.suptitle(f"{metrics.parent.name}: {len(records)} steps, epoch {epochs}", fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return write_bytes(out, buffer.getvalue())


def _moving_average(values: list[float], window: int) -> list[float]:
    out, total, kept = [], 0.0, []
    for v in values:
        kept.append(v)
        total += v
        if len(kept) > window:
            total -= kept.pop(0)
        out.append(total / len(kept))
    return out
