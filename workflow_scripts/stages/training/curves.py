"""Plots people would rather look at than read."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CURVES = [
    ("loss", "loss"),
    ("rewards/accuracies", "reward accuracy"),
    ("rewards/margins", "reward margin"),
    ("grad_norm", "gradient norm"),
]


def training_curves(log_history: list[dict], title: str, path) -> None:
    panels = [(key, label) for key, label in CURVES if any(key in row for row in log_history)]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4 * max(len(panels), 1), 3.2), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        points = [(row["step"], row[key]) for row in log_history if key in row and "step" in row]
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o", markersize=3, label="train")
        # the held-out rows, evaluated after (and, with eval_steps, during) training
        held = [(row["step"], row[f"eval_{key}"]) for row in log_history if f"eval_{key}" in row and "step" in row]
        if held:
            steps, values = zip(*held)
            ax.plot(steps, values, marker="s", markersize=5, linestyle="--", color="#d62728", label="held out")
            ax.legend(fontsize=7)
        ax.set_title(label)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
