"""Training curves of every adapter in the report, from their training_metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402

from workflow_scripts.stages.report.common import method_label  # noqa: E402


def training_plot(adapter_dirs, path) -> None:
    """Training loss of every adapter, one panel per method."""
    curves: dict[str, list] = {}
    for adapter in adapter_dirs:
        metrics = json.loads((Path(adapter) / "training_metrics.json").read_text())
        points = [(row["step"], row["loss"]) for row in metrics["log_history"] if "loss" in row and "step" in row]
        held = [(row["step"], row["eval_loss"]) for row in metrics["log_history"] if "eval_loss" in row and "step" in row]
        parts = Path(adapter).parts
        subject = "/".join(parts[-4:])
        _, method, _ = method_label(subject)
        curves.setdefault(metrics["method"], []).append((f"{parts[-2]} {method}", points, held))
    methods = sorted(curves) or ["(none)"]
    fig, axes = plt.subplots(1, len(methods), figsize=(5.5 * len(methods), 3.6), squeeze=False)
    for ax, method in zip(axes[0], methods):
        for label, points, held in curves.get(method, []):
            color = None
            if points:
                steps, losses = zip(*points)
                color = ax.plot(steps, losses, marker="o", markersize=3, label=label)[0].get_color()
            if held:  # held-out loss: squares in the curve's colour
                steps, losses = zip(*held)
                ax.plot(steps, losses, marker="s", markersize=6, linestyle="none", color=color)
        ax.set_title(f"{method.upper()} loss (lines: training; squares: held-out rows)")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
