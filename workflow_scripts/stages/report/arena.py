"""m-ArenaHard in the report: length-controlled win rates per language (Figure 4), per training language for
the adapters of experiments with arena baselines (Figure 5), and every comparison's table."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from workflow_scripts.stages.report.common import ci, method_label, percent  # noqa: E402


def arena_frame(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    overall, sub = [], []
    for path in paths:
        result = json.loads(Path(path).read_text())
        base = {
            "comparison": result["comparison"],
            "language": result["language"],
            "model": result["model"],
            "baseline": result["baseline"],
            "protocol": result.get("protocol", "debiased"),
            "length_unit": result.get("length_unit", "tokens"),
        }
        overall.append({**base, **flatten(result["overall"])})
        for name, block in result["by_subcategory"].items():
            sub.append({**base, "subcategory": name, **flatten(block)})
    return pd.DataFrame(overall), pd.DataFrame(sub)


def flatten(block: dict) -> dict:
    out = dict(block)
    for key in ("win_rate_ci95", "lc_win_rate_ci95"):
        low, high = block.get(key) or (None, None)
        out[f"{key}_low"], out[f"{key}_high"] = low, high
        out.pop(key, None)
    return out


FEW_MARK, NARROW_MARK = "†", "‡"


def too_few_prompts(row, min_prompts: int) -> bool:
    return pd.notna(row.get("prompts")) and row["prompts"] < min_prompts


def narrower_than_raw(row) -> bool:
    """The LC interval is narrower than the raw win rate's: the length fit, not the games, sets its width."""
    bounds = [row[key] for key in ("lc_win_rate_ci95_low", "lc_win_rate_ci95_high", "win_rate_ci95_low", "win_rate_ci95_high")]
    if any(value is None or pd.isna(value) for value in bounds):
        return False
    lc_low, lc_high, raw_low, raw_high = map(float, bounds)
    return lc_high - lc_low < raw_high - raw_low - 1e-9


def lc_marks(row, min_prompts: int) -> str:
    return (FEW_MARK if too_few_prompts(row, min_prompts) else "") + (NARROW_MARK if narrower_than_raw(row) else "")


def lc_win_rate_bars(ax, groups: list[tuple[str, pd.DataFrame]], langs: list[str], min_prompts: int = 0) -> None:
    """One bar per group and language (a group's win-rate rows, one per language) with its 95% interval, and
    the parity line. A bar from fewer than `min_prompts` prompts is hatched."""
    width = 0.8 / max(len(groups), 1)
    for i, (label, rows) in enumerate(groups):
        rows = rows.groupby("language").first().reindex(langs)
        x = np.arange(len(langs)) + (i - (len(groups) - 1) / 2) * width
        values = rows["lc_win_rate"].to_numpy(float)
        low = values - rows["lc_win_rate_ci95_low"].to_numpy(float)
        high = rows["lc_win_rate_ci95_high"].to_numpy(float) - values
        bars = ax.bar(x, values, width, label=label, yerr=[np.nan_to_num(low), np.nan_to_num(high)], capsize=3)
        prompts = rows["prompts"].to_numpy(float) if "prompts" in rows else np.full(len(langs), np.nan)
        for bar, count in zip(bars, prompts):
            if not np.isnan(count) and count < min_prompts:
                bar.set_hatch("//")
                bar.set_alpha(0.55)
    ax.axhline(50, color="black", linestyle="--", linewidth=1)
    ax.set_xticks(np.arange(len(langs)), langs)
    ax.set_ylim(0, 100)
    ax.set_ylabel("LC win rate (%)")


def arena_plot(overall: pd.DataFrame, min_prompts: int, path) -> None:
    comparisons = list(dict.fromkeys(overall["comparison"])) if not overall.empty else []
    langs = sorted(set(overall["language"])) if not overall.empty else []
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(langs) * max(len(comparisons), 1) + 3), 3.8))
    lc_win_rate_bars(ax, [(name, overall[overall["comparison"] == name]) for name in comparisons], langs, min_prompts)
    ax.set_title(
        "m-ArenaHard: LC win rate per language\n"
        f"(95% bootstrap intervals; dashed: parity; hatched: fewer than {min_prompts} prompts)",
        fontsize=10,
    )
    if comparisons:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def prompt_count(row) -> str:
    return "–" if pd.isna(row.get("prompts")) else str(int(row["prompts"]))


def split_comparisons(overall: pd.DataFrame, adapter_comparisons: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the configured comparisons' rows: Figure 4, the adapter comparisons' rows: Figure 5)."""
    if overall.empty:
        return overall, overall
    by_adapter = overall["comparison"].isin(adapter_comparisons)
    return overall[~by_adapter], overall[by_adapter]


ADAPTER_POINT_COLUMNS = [
    "baseline",
    "method",
    "model",
    "language",
    "lc_win_rate",
    "lc_win_rate_ci95_low",
    "lc_win_rate_ci95_high",
]


def adapter_arena_points(overall: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's bars: each adapter compared with a baseline in its own language(s), by the paper's method name."""
    if overall.empty:
        return pd.DataFrame(columns=ADAPTER_POINT_COLUMNS)
    points = overall.assign(method=[" ".join(method_label(model)[1:]) for model in overall["model"]])
    return points[ADAPTER_POINT_COLUMNS].sort_values(["baseline", "method", "language"]).reset_index(drop=True)


def adapter_arena_plot(points: pd.DataFrame, path) -> None:
    """Figure 5 from adapter_arena_points: one panel per baseline, one bar per method and language (LC win rate with
    its 95% interval)."""
    baselines = list(dict.fromkeys(points["baseline"]))
    fig, axes = plt.subplots(1, max(len(baselines), 1), figsize=(max(9.5, 6.5 * len(baselines)), 4.0), squeeze=False)
    if not baselines:
        axes[0][0].text(0.5, 0.5, "no experiment sets arena_baselines", ha="center", va="center")
        axes[0][0].axis("off")
    for ax, baseline in zip(axes[0], baselines):
        part = points[points["baseline"] == baseline]
        langs = sorted(set(part["language"]))
        methods = sorted(set(part["method"]))
        lc_win_rate_bars(ax, [(method, part[part["method"] == method]) for method in methods], langs)
        ax.set_title(f"adapters vs {baseline}, each in its own language", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("m-ArenaHard per training language (Figure 5; 95% bootstrap intervals; dashed: parity)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def baseline_comparisons(overall: pd.DataFrame, languages: list[str], methods: tuple[str, ...]) -> pd.DataFrame:
    """The comparisons (overall rows) in these languages whose evaluated model is an adapter of these methods (as
    the report names them: "ICR", "Paired DPO (μ−2σ", ...); empty without one of `methods`' baselines among them."""
    if overall.empty:
        return overall
    named = [method_label(model)[1] for model in overall["model"]]
    keep = [name.startswith(methods) and lang in languages for name, lang in zip(named, overall["language"])]
    chosen = overall[keep]
    return chosen if any(method_label(m)[1].startswith(("ICR", "MAPO")) for m in chosen["model"]) else chosen.iloc[0:0]


def arena_table_html(overall: pd.DataFrame, sub: pd.DataFrame, min_prompts: int) -> str:
    """Every comparison per language, then per subcategory; an LC win rate from fewer than `min_prompts` prompts
    is marked (†), one whose interval is narrower than the raw win rate's too (‡), and subcategory rows from
    fewer prompts are folded."""
    if overall.empty:
        return "<p>No m-ArenaHard comparisons were configured.</p>"

    def rows(frame, extra):
        out = []
        for _, r in frame.iterrows():
            first = "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in extra)
            marks = lc_marks(r, min_prompts)
            lc_class = " class='ns'" if too_few_prompts(r, min_prompts) else ""
            out.append(
                f"<tr>{first}<td>{prompt_count(r)}</td><td>{r['wins']}/{r['ties']}/{r['losses']}</td>"
                f"<td>{r['unparseable']}</td><td>{r.get('too_long', 0)}</td>"
                f"<td>{percent(r['win_rate'])} {ci(r['win_rate_ci95_low'], r['win_rate_ci95_high'])}</td>"
                f"<td{lc_class}><b>{percent(r['lc_win_rate'])}</b> "
                f"{ci(r['lc_win_rate_ci95_low'], r['lc_win_rate_ci95_high'])}{marks}</td></tr>"
            )
        return "".join(out)

    def table(frame, extra, css="results"):
        heads = "".join(f"<th>{c}</th>" for c in extra)
        return f"<table class='{css}'><thead><tr>{heads}{head}</tr></thead><tbody>{rows(frame, extra)}</tbody></table>"

    head = (
        "<th>prompts</th><th>wins/ties/losses</th><th>unparseable</th><th>too long for the judge</th>"
        "<th>win rate % [95% CI]</th><th>LC win rate % [95% CI]</th>"
    )
    text = table(overall, ["comparison", "language"])
    text += (
        f"<p class='note'>{FEW_MARK} fewer than {min_prompts} prompts (<code>evaluation.arena.min_prompts</code>): too "
        "few for the length fit to be trusted, shown in grey. "
        f"{NARROW_MARK} the LC interval is narrower than the raw win rate's: the LC win rate is the fitted model's "
        "prediction at equal lengths, and where that fit saturates (almost every game won or lost at some length "
        "difference) its bootstrap spread shrinks although the games are as few as before; read the raw interval "
        "as the honest one.</p>"
    )
    if not sub.empty:
        enough = sub[[not too_few_prompts(r, min_prompts) for _, r in sub.iterrows()]]
        few = sub.drop(enough.index)
        text += "<h3>Per subcategory</h3>"
        if not enough.empty:
            text += table(enough, ["comparison", "language", "subcategory"], "results small")
        else:
            text += f"<p class='note'>No subcategory has {min_prompts} prompts or more.</p>"
        if not few.empty:
            text += (
                f"<details><summary>{len(few)} subcategory row(s) from fewer than {min_prompts} prompts each "
                f"{FEW_MARK} (folded)</summary>"
                + table(few, ["comparison", "language", "subcategory"], "results small")
                + "</details>"
            )
    pairs = overall.drop_duplicates("comparison")
    text += (
        "<p class='note'>"
        + "<br>".join(
            f"{html.escape(r['comparison'])}: {html.escape(r['model'])} vs {html.escape(r['baseline'])} "
            f"(judge protocol: {html.escape(str(r.get('protocol', 'debiased')))}, "
            f"LC on {html.escape(str(r.get('length_unit', 'tokens')))})"
            for _, r in pairs.iterrows()
        )
        + "</p>"
    )
    return text
