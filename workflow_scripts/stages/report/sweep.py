"""The rejection sweet spot: where a Paired DPO adapter's rejected responses sat in their pools, against what the
adapter gained. Pair tables of one sample source and scope that differ only in their rejection target (an
experiment's `rejection_targets`, on shared samples and scores) form one sweep; each point is one target.

The x axis is measured, not named: the mean of (rejected reward − pool mean) / pool std over the table's pairs,
so μ−kσ and quantile targets fall on one axis. The outcomes: the chosen − rejected reward gap (from the pair
table), the EuroEval delta to the base model (mean over the adapter's languages and datasets, primary metric),
and the m-ArenaHard LC win rate (mean over the adapter's comparisons and languages, where it has any)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts.names import TARGET_RE, data_name, parse_dataset, parse_subject
from workflow_scripts.stages.report.common import target_label

SWEEP_COLUMNS = [
    "sweep", "target", "label", "pairs", "rejected_z", "reward_gap", "subject", "euroeval_delta", "lc_win_rate",
]  # fmt: skip


def sweep_key(pair_path) -> tuple[str, str, str] | None:
    """(source, scope, dataset with its target blanked) of a Paired DPO pair table; None for other tables."""
    path = Path(pair_path)
    parsed = parse_dataset(path.stem)
    if parsed.get("target") is None or parsed.get("online"):
        return None
    blank = re.sub(rf"^dpo-(?:{TARGET_RE})-", "dpo-*-", path.stem)
    return path.parent.parent.name, path.parent.name, blank


def euroeval_delta(scores: pd.DataFrame, subject: str) -> float:
    """Mean over the subject's (language, dataset) primary scores of its score minus its base model's."""
    if scores.empty:
        return float("nan")
    primary = scores[scores["primary"] & scores["step"].isna()]
    own = primary[primary["subject"] == subject].set_index(["language", "dataset"])["score"]
    base = primary[primary["subject"] == parse_subject(subject)[0]].set_index(["language", "dataset"])["score"]
    both = own.index.intersection(base.index)
    return float((own[both] - base[both]).mean()) if len(both) else float("nan")


def sweep_points(pair_paths, scores: pd.DataFrame, overall: pd.DataFrame) -> pd.DataFrame:
    """One row per (sweep, target, adapter trained on that pair table); only sweeps of two targets or more."""
    groups: dict[tuple, list] = {}
    for path in pair_paths:
        key = sweep_key(path)
        if key is not None:
            groups.setdefault(key, []).append(Path(path))
    rows = []
    subjects = set(scores["subject"]) if not scores.empty else set()
    subjects |= set(overall["model"]) if not overall.empty else set()
    for (source, scope, blank), paths in groups.items():
        if len(paths) < 2:
            continue
        for path in paths:
            table = pq.read_table(path, columns=["chosen_reward", "rejected_reward", "pool_mean", "pool_std"]).to_pandas()
            spread = table[table["pool_std"] > 0]
            target = parse_dataset(path.stem)["target"]
            base = {
                "sweep": f"{source}/{scope}/{blank}",
                "target": target,
                "label": target_label(target),
                "pairs": len(table),
                "rejected_z": float(((spread["rejected_reward"] - spread["pool_mean"]) / spread["pool_std"]).mean()),
                "reward_gap": float((table["chosen_reward"] - table["rejected_reward"]).mean()),
            }
            # the adapters trained on this table (a variant's adapters share it)
            trained = sorted(
                s
                for s in subjects
                if (adapter := parse_subject(s)[1]) is not None
                and adapter.step is None
                and (adapter.source, adapter.scope) == (source, scope)
                and data_name(adapter.dataset) == path.stem
            )
            for subject in trained or [None]:
                compared = not overall.empty and subject is not None
                wins = overall[overall["model"] == subject]["lc_win_rate"] if compared else pd.Series([], dtype=float)
                rows.append(
                    {
                        **base,
                        "subject": subject,
                        "euroeval_delta": euroeval_delta(scores, subject) if subject else float("nan"),
                        "lc_win_rate": float(wins.mean()) if len(wins) else float("nan"),
                    }
                )
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS).sort_values(["sweep", "rejected_z"]).reset_index(drop=True)


def sweep_plot(points: pd.DataFrame, path) -> None:
    """Three panels against where the rejected responses sat: the reward gap, the EuroEval delta, the LC win rate;
    one line per sweep (and adapter setting), each point labelled with its target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("reward_gap", "chosen − rejected reward"),
        ("euroeval_delta", "EuroEval Δ to the base (points)"),
        ("lc_win_rate", "m-ArenaHard LC win rate (%)"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    if points.empty:
        for ax in axes:
            ax.text(0.5, 0.5, "no experiment sweeps rejection_targets", ha="center", va="center")
            ax.set_axis_off()
    for (sweep, subject_kind), part in points.groupby(["sweep", points["subject"].fillna("").map(_setting_suffix)], sort=False):
        label = sweep + (f" {subject_kind}" if subject_kind else "")
        for ax, (column, title) in zip(axes, panels):
            shown = part.dropna(subset=[column]).sort_values("rejected_z")
            if shown.empty:
                continue
            ax.plot(shown["rejected_z"], shown[column], marker="o", label=label)
            for _, row in shown.iterrows():
                ax.annotate(row["label"], (row["rejected_z"], row[column]), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("rejected reward, in pool std from the pool mean")
    for ax, (column, _) in zip(axes, panels):
        if column == "lc_win_rate" and ax.lines:
            ax.axhline(50, color="#57606a", linestyle="--", linewidth=1)
    if any(ax.lines for ax in axes):
        axes[0].legend(fontsize=7)
    for ax in axes:
        if not ax.lines and not points.empty:
            ax.text(0.5, 0.5, "not measured for these adapters", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle("Where the rejected response sits, and what it gives (one point per rejection target)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _setting_suffix(subject: str) -> str:
    """A variant's settings in an adapter's name (`@beta=0.2`), so that each variant draws its own line."""
    return subject[subject.index("@") :] if "@" in subject else ""


def sweep_html(points: pd.DataFrame) -> str:
    if points.empty:
        return ""

    def number(x, fmt) -> str:
        return "–" if pd.isna(x) else fmt.format(x)

    rows = "".join(
        f"<tr><td>{r.sweep}</td><td>{r.label}</td><td>{r.pairs}</td><td>{number(r.rejected_z, '{:+.2f}')}</td>"
        f"<td>{number(r.reward_gap, '{:.3g}')}</td><td>{r.subject or '–'}</td>"
        f"<td>{number(r.euroeval_delta, '{:+.1f}')}</td><td>{number(r.lc_win_rate, '{:.1f}')}</td></tr>"
        for r in points.itertuples()
    )
    return (
        "<table class='results small'><tr><th>sweep</th><th>target</th><th>pairs</th><th>rejected z</th>"
        "<th>reward gap</th><th>adapter</th><th>EuroEval Δ</th><th>LC win rate</th></tr>"
        f"{rows}</table>"
    )
