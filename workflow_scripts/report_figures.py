"""The report's tables and figures, laid out like the paper: EuroEval deltas against the base (Table 1), LC
win rates per language (Figure 4), the prompts' domains and token lengths (Figures 2 and 3), reward
distributions with the chosen and rejected samples, the language pairs of multilingual DPO, training curves,
the protocol table. Large tables are read column-wise (rewards only, pair columns only); response texts are
never loaded."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from workflow_scripts.atomic import atomic_file  # noqa: E402
from workflow_scripts.layout import TRANSLATED, parse_dataset, parse_sample_source, parse_subject  # noqa: E402

TARGET_NAMES = {"mean_minus_2sigma": "μ−2σ", "q1": "Q1", "min": "min"}


def method_label(subject: str) -> tuple[str, str, str]:
    """(policy, method, regime) as the paper names them."""
    policy, adapter = parse_subject(subject)
    if adapter is None:
        return policy, "base", "-"
    regime = "mono" if adapter.scope.startswith("mono-") else "multi"
    parsed = parse_dataset(adapter.dataset)
    if parsed["method"] == "sft":
        method = "In-Lang SFT" if regime == "mono" else "All-Lang SFT"
    elif parsed["method"] == "maxr":
        method = "Max-R"
    elif parsed.get("online"):
        method = f"Online DPO ({TARGET_NAMES.get(parsed['target'], parsed['target'])})"
    else:
        method = f"Paired DPO ({TARGET_NAMES.get(parsed['target'], parsed['target'])}"
        method += f", prompt: {parsed['prompt_language']})" if regime == "multi" else ")"
    if adapter.source != TRANSLATED:
        generator, instructed = parse_sample_source(adapter.source)
        if generator != policy:
            method += f" [off-policy: {generator}]"
        if instructed:
            method += " [language instruction]"
    return policy, method, regime


# ---------------------------------------------------------------- EuroEval


EUROEVAL_COLUMNS = [
    "subject",
    "policy",
    "method",
    "regime",
    "language",
    "dataset",
    "metric",
    "primary",
    "score",
    "ci95_half_width",
    "run",  # a curve run's adapter name (the subject without seed and step), else the subject
    "seed",  # a checkpoint's run seed and step (NaN for models and adapters)
    "step",
]


def euroeval_frame(paths) -> pd.DataFrame:
    """One row per (subject, language, dataset, metric); checkpoints of curve runs carry their seed and step."""
    rows = []
    for path in paths:
        result = json.loads(Path(path).read_text())
        policy, method, regime = method_label(result["subject"])
        _, adapter = parse_subject(result["subject"])
        step = adapter.step if adapter is not None and adapter.step is not None else np.nan
        seed = adapter.seed if adapter is not None and adapter.step is not None else np.nan
        run = result["subject"] if np.isnan(step) else result["subject"].rsplit("/", 2)[0]
        for language, evaluated in result["languages"].items():
            for name, entry in evaluated["datasets"].items():
                for metric, value in entry["metrics"].items():
                    rows.append(
                        {
                            "subject": result["subject"],
                            "policy": policy,
                            "method": method,
                            "regime": regime,
                            "language": language,
                            "dataset": name,
                            "metric": metric,
                            "primary": metric == entry["primary_metric"],
                            "score": value["score"],
                            "ci95_half_width": value["half_width"],
                            "run": run,
                            "seed": seed,
                            "step": step,
                        }
                    )
    return pd.DataFrame(rows, columns=EUROEVAL_COLUMNS)


def final_models(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of models and adapters, without the checkpoints of curve runs (Tables 1 and 2)."""
    return frame[frame["step"].isna()]


def euroeval_deltas(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (policy, method, regime) and language: mean over datasets of (score - base score)."""
    frame = frame[frame["primary"].astype(bool)]
    if frame.empty:
        return pd.DataFrame()
    base = frame[frame["method"] == "base"].set_index(["policy", "language", "dataset"])["score"]
    tuned = frame[frame["method"] != "base"].copy()
    keys = list(zip(tuned["policy"], tuned["language"], tuned["dataset"]))
    tuned["delta"] = [row_score - base.get(key, np.nan) for row_score, key in zip(tuned["score"], keys)]
    table = tuned.groupby(["policy", "method", "regime", "language"])["delta"].mean().unstack("language")
    base_scores = frame[frame["method"] == "base"].groupby(["policy", "language"])["score"].mean().unstack("language")
    base_scores.index = pd.MultiIndex.from_tuples(
        [(p, "base (absolute)", "-") for p in base_scores.index], names=["policy", "method", "regime"]
    )
    return pd.concat([base_scores, table]).sort_index(level=[0, 2], sort_remaining=False)


def delta_cell(value: float, absolute: bool) -> str:
    if pd.isna(value):
        return "<td class='na'>–</td>"
    if absolute:
        return f"<td class='abs'>{value:.1f}</td>"
    if value == 0:
        return "<td>±0.0</td>"
    shade = min(abs(value) / 10, 1.0)
    color = f"rgba(46,160,67,{0.15 + 0.6 * shade:.2f})" if value > 0 else f"rgba(218,54,51,{0.15 + 0.6 * shade:.2f})"
    return f"<td style='background:{color}'>{value:+.1f}</td>"


def euroeval_table_html(deltas: pd.DataFrame, frame: pd.DataFrame) -> str:
    if deltas.empty:
        return "<p>No EuroEval results were configured.</p>"
    langs = list(deltas.columns)
    head = "".join(f"<th>{html.escape(lang)}</th>" for lang in langs)
    body = []
    for (policy, method, regime), row in deltas.iterrows():
        absolute = method.startswith("base")
        cells = "".join(delta_cell(row[lang], absolute) for lang in langs)
        body.append(f"<tr><td>{html.escape(policy)}</td><td>{html.escape(method)}</td><td>{regime}</td>{cells}</tr>")
    primary = frame[frame["primary"].astype(bool)]
    metrics = ", ".join(sorted({f"{d}: {m}" for d, m in zip(primary["dataset"], primary["metric"])}))
    return (
        "<table class='results'><thead><tr><th>policy</th><th>method</th><th>regime</th>" + head + "</tr></thead>"
        "<tbody>" + "".join(body) + "</tbody></table>"
        f"<p class='note'>Mean over each language's datasets of the primary metric, in points: the base row is "
        f"absolute, every other row the difference to its base. Primary metrics: {html.escape(metrics)}.</p>"
    )


def held_out_table_html(frame: pd.DataFrame, held_out: list[str]) -> str:
    """Table 2: on each held-out language (evaluated, never trained on), every dataset's primary score of the base
    (absolute) and each adapter's difference to it, in points."""
    frame = frame[frame["primary"].astype(bool) & frame["language"].isin(held_out)]
    if frame.empty:
        return "<p>No held-out languages were evaluated (languages with EuroEval datasets but no training data).</p>"
    columns = list(dict.fromkeys(zip(frame["language"], frame["dataset"])))
    columns.sort(key=lambda key: held_out.index(key[0]))
    scores = frame.set_index(["policy", "method", "regime", "language", "dataset"])["score"]
    base = frame[frame["method"] == "base"].set_index(["policy", "language", "dataset"])["score"]
    rows = list(dict.fromkeys(zip(frame["policy"], frame["method"], frame["regime"])))
    rows.sort(key=lambda row: (row[0], row[1] != "base", row[2], row[1]))
    head_langs = "".join(
        f"<th colspan='{sum(1 for lang, _ in columns if lang == held)}'>{html.escape(held)}</th>"
        for held in held_out
        if any(lang == held for lang, _ in columns)
    )
    head_sets = "".join(f"<th>{html.escape(name)}</th>" for _, name in columns)
    body = []
    for policy, method, regime in rows:
        cells = []
        for lang, name in columns:
            value = scores.get((policy, method, regime, lang, name), np.nan)
            if method != "base":
                value = value - base.get((policy, lang, name), np.nan)
            cells.append(delta_cell(value, method == "base"))
        label = "base (absolute)" if method == "base" else method
        body.append(f"<tr><td>{html.escape(policy)}</td><td>{html.escape(label)}</td><td>{regime}</td>{''.join(cells)}</tr>")
    return (
        "<table class='results'><thead><tr><th rowspan='2'>policy</th><th rowspan='2'>method</th>"
        f"<th rowspan='2'>regime</th>{head_langs}</tr><tr>{head_sets}</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table><p class='note'>Held-out languages: evaluated, never trained on. Primary metric per "
        "dataset, in points: the base row is absolute, every other row the difference to its base.</p>"
    )


def checkpoint_curves_plot(frame: pd.DataFrame, path) -> None:
    """Appendix G: every curve run's EuroEval score against its step, as the difference to the base model (mean
    of the language's datasets' primary metric), the mean over seeds with a band of one standard deviation; one
    panel per policy, scope and language, one line per method (offline and online DPO)."""
    primary = frame[frame["primary"].astype(bool)]
    points = primary[primary["step"].notna()]
    fig_panels = sorted({(r.policy, parse_subject(r.subject)[1].scope, r.language) for r in points.itertuples()}) or [None]
    fig, axes = plt.subplots(1, len(fig_panels), figsize=(max(9.5, 6 * len(fig_panels)), 3.8), squeeze=False)
    if fig_panels == [None]:
        axes[0][0].text(0.5, 0.5, "no experiment sets curves", ha="center", va="center")
        axes[0][0].axis("off")
        fig_panels = []
    base = primary[primary["method"] == "base"].set_index(["policy", "language", "dataset"])["score"]
    for ax, (policy, scope, lang) in zip(axes[0], fig_panels):
        part = points[(points["policy"] == policy) & (points["language"] == lang)]
        part = part[[parse_subject(s)[1].scope == scope for s in part["subject"]]]
        keys = list(zip(part["policy"], part["language"], part["dataset"]))
        part = part.assign(delta=[score - base.get(key, np.nan) for score, key in zip(part["score"], keys)])
        per_seed = part.groupby(["method", "seed", "step"])["delta"].mean().reset_index()
        for method, curve in per_seed.groupby("method"):
            stats = curve.groupby("step")["delta"].agg(["mean", "std", "count"]).reset_index()
            steps = np.concatenate([[0], stats["step"].to_numpy(float)])
            mean = np.concatenate([[0.0], stats["mean"].to_numpy(float)])  # step 0 is the base model
            std = np.concatenate([[0.0], stats["std"].fillna(0).to_numpy(float)])
            seeds = int(stats["count"].max())
            line = ax.plot(steps, mean, marker="o", markersize=4, label=f"{method} ({seeds} seed{'s' * (seeds > 1)})")[0]
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.axhline(0, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("EuroEval: difference to the base (points)")
        ax.set_title(f"{policy}, {scope}, evaluated in {lang}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Offline and online DPO per checkpoint (Appendix G; bands: one standard deviation over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------- m-ArenaHard


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


def lc_win_rate_bars(ax, groups: list[tuple[str, pd.DataFrame]], langs: list[str]) -> None:
    """One bar per group and language (a group's win-rate rows, one per language) with its 95% interval, and
    the parity line."""
    width = 0.8 / max(len(groups), 1)
    for i, (label, rows) in enumerate(groups):
        rows = rows.groupby("language").first().reindex(langs)
        x = np.arange(len(langs)) + (i - (len(groups) - 1) / 2) * width
        values = rows["lc_win_rate"].to_numpy(float)
        low = values - rows["lc_win_rate_ci95_low"].to_numpy(float)
        high = rows["lc_win_rate_ci95_high"].to_numpy(float) - values
        ax.bar(x, values, width, label=label, yerr=[np.nan_to_num(low), np.nan_to_num(high)], capsize=3)
    ax.axhline(50, color="black", linestyle="--", linewidth=1)
    ax.set_xticks(np.arange(len(langs)), langs)
    ax.set_ylim(0, 100)
    ax.set_ylabel("LC win rate (%)")


def arena_plot(overall: pd.DataFrame, path) -> None:
    comparisons = list(dict.fromkeys(overall["comparison"])) if not overall.empty else []
    langs = sorted(set(overall["language"])) if not overall.empty else []
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(langs) * max(len(comparisons), 1) + 3), 3.8))
    lc_win_rate_bars(ax, [(name, overall[overall["comparison"] == name]) for name in comparisons], langs)
    ax.set_title("m-ArenaHard: LC win rate per language\n(95% bootstrap intervals; dashed: parity)", fontsize=10)
    if comparisons:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def split_comparisons(overall: pd.DataFrame, adapter_comparisons: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the configured comparisons' rows: Figure 4, the adapter comparisons' rows: Figure 5)."""
    if overall.empty:
        return overall, overall
    by_adapter = overall["comparison"].isin(adapter_comparisons)
    return overall[~by_adapter], overall[by_adapter]


def adapter_arena_plot(overall: pd.DataFrame, path) -> None:
    """Figure 5: each adapter compared with a baseline in its own language(s), one panel per baseline, one bar
    per method and language (LC win rate with its 95% interval)."""
    baselines = list(dict.fromkeys(overall["baseline"])) if not overall.empty else []
    fig, axes = plt.subplots(1, max(len(baselines), 1), figsize=(max(9.5, 6.5 * len(baselines)), 4.0), squeeze=False)
    if not baselines:
        axes[0][0].text(0.5, 0.5, "no experiment sets arena_baselines", ha="center", va="center")
        axes[0][0].axis("off")
    for ax, baseline in zip(axes[0], baselines):
        part = overall[overall["baseline"] == baseline].copy()
        part["method"] = [" ".join(method_label(model)[1:]) for model in part["model"]]
        langs = sorted(set(part["language"]))
        methods = sorted(set(part["method"]))
        lc_win_rate_bars(ax, [(method, part[part["method"] == method]) for method in methods], langs)
        ax.set_title(f"adapters vs {baseline}, each in its own language", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("m-ArenaHard per training language (Figure 5; 95% bootstrap intervals; dashed: parity)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def ci(low, high) -> str:
    return "–" if pd.isna(low) else f"[{low:.1f}, {high:.1f}]"


def percent(value) -> str:
    """A rate, or a dash where none exists (every verdict of the games unparseable)."""
    return "–" if value is None or pd.isna(value) else f"{value:.1f}"


def arena_table_html(overall: pd.DataFrame, sub: pd.DataFrame) -> str:
    if overall.empty:
        return "<p>No m-ArenaHard comparisons were configured.</p>"

    def rows(frame, extra):
        out = []
        for _, r in frame.iterrows():
            first = "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in extra)
            out.append(
                f"<tr>{first}<td>{r['wins']}/{r['ties']}/{r['losses']}</td><td>{r['unparseable']}</td>"
                f"<td>{r.get('too_long', 0)}</td>"
                f"<td>{percent(r['win_rate'])} {ci(r['win_rate_ci95_low'], r['win_rate_ci95_high'])}</td>"
                f"<td><b>{percent(r['lc_win_rate'])}</b> {ci(r['lc_win_rate_ci95_low'], r['lc_win_rate_ci95_high'])}</td></tr>"
            )
        return "".join(out)

    head = (
        "<th>wins/ties/losses</th><th>unparseable</th><th>too long for the judge</th><th>win rate % [95% CI]</th>"
        "<th>LC win rate % [95% CI]</th>"
    )
    text = (
        "<table class='results'><thead><tr><th>comparison</th><th>language</th>"
        + head
        + "</tr></thead><tbody>"
        + rows(overall, ["comparison", "language"])
        + "</tbody></table>"
    )
    if not sub.empty:
        text += (
            "<h3>Per subcategory</h3><table class='results small'><thead><tr><th>comparison</th><th>language</th>"
            "<th>subcategory</th>"
            + head
            + "</tr></thead><tbody>"
            + rows(sub, ["comparison", "language", "subcategory"])
            + "</tbody></table>"
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


# ---------------------------------------------------------------- rewards and pairs


def reward_plot(score_paths, pair_paths, path) -> None:
    """Per language: every scored reward, and the rewards of the chosen and rejected samples of its DPO pairs."""
    rewards: dict[str, list[np.ndarray]] = {}
    for score_path in score_paths:
        table = pq.read_table(score_path, columns=["language", "reward", "status"])
        table = table.filter(pc.equal(table.column("status"), "scored"))
        for lang in pc.unique(table.column("language")).to_pylist():
            values = table.filter(pc.equal(table.column("language"), lang)).column("reward").to_numpy(zero_copy_only=False)
            rewards.setdefault(lang, []).append(values[np.isfinite(values)])
    chosen: dict[str, list] = {}
    rejected: dict[str, list] = {}
    mono = [p for p in pair_paths if "/mono-" in str(p)]
    for pair_path in mono or pair_paths:
        table = pq.read_table(pair_path, columns=["chosen_language", "rejected_language", "chosen_reward", "rejected_reward"])
        frame = table.to_pandas()
        for lang, part in frame.groupby("chosen_language"):
            chosen.setdefault(lang, []).append(part["chosen_reward"].to_numpy(float))
        for lang, part in frame.groupby("rejected_language"):
            rejected.setdefault(lang, []).append(part["rejected_reward"].to_numpy(float))
    langs = sorted(rewards)
    fig, axes = plt.subplots(1, max(len(langs), 1), figsize=(3.6 * max(len(langs), 1), 3.2), squeeze=False, sharey=False)
    for ax, lang in zip(axes[0], langs):
        every = np.concatenate(rewards[lang])
        bins = np.histogram_bin_edges(every, bins=30) if every.size else 10
        ax.hist(every, bins=bins, color="#bbbbbb", label=f"all ({every.size})")
        if lang in chosen:
            values = np.concatenate(chosen[lang])
            ax.hist(values, bins=bins, histtype="step", linewidth=2, color="#2ea043", label=f"chosen ({values.size})")
        if lang in rejected:
            values = np.concatenate(rejected[lang])
            ax.hist(values, bins=bins, histtype="step", linewidth=2, color="#da3633", label=f"rejected ({values.size})")
        ax.set_title(lang)
        ax.set_xlabel("reward")
        ax.legend(fontsize=7)
    fig.suptitle("Reward distribution per language, with the DPO pairs' chosen and rejected samples", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (average ranks for ties); NaN below 3 pairs or for a constant side."""
    if len(a) < 3:
        return float("nan")
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def reference_frame(reference_paths) -> pd.DataFrame:
    """prompt_id, language, reward of every scored reference answer."""
    frames = []
    for ref_path in reference_paths:
        table = pq.read_table(ref_path, columns=["prompt_id", "language", "reward", "status"])
        frames.append(table.filter(pc.equal(table.column("status"), "scored")).to_pandas())
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=["prompt_id", "language", "reward", "status"])
    return frame[np.isfinite(frame["reward"].astype(float))][["prompt_id", "language", "reward"]]


def reference_percentiles(score_path, references: pd.DataFrame) -> pd.DataFrame:
    """Per prompt of a score file: where its reference answer's reward falls among the prompt's scored samples
    (the share of samples below it, ties counting half), in percent."""
    table = pq.read_table(score_path, columns=["prompt_id", "language", "reward", "status"])
    samples = table.filter(pc.equal(table.column("status"), "scored")).to_pandas()
    samples = samples[np.isfinite(samples["reward"].astype(float))]
    joined = samples.merge(references, on=["prompt_id", "language"], suffixes=("", "_reference"))
    if joined.empty:
        return pd.DataFrame(columns=["prompt_id", "language", "percentile"])
    below = (joined["reward"] < joined["reward_reference"]) + 0.5 * (joined["reward"] == joined["reward_reference"])
    joined = joined.assign(below=below.astype(float))
    out = joined.groupby(["prompt_id", "language"], as_index=False)["below"].mean()
    return out.assign(percentile=100 * out["below"])[["prompt_id", "language", "percentile"]]


def reward_consistency_plot(reference_paths, score_paths, source_language: str, path) -> None:
    """The reward model's consistency (the paper's Appendix B). Left, within each language: where a prompt's
    reference answer ranks among that prompt's own samples, per sample source. Right, across languages: the
    reward of each English reference against the reward of its translation (same prompt id), with the rank
    correlation per language."""
    references = reference_frame(reference_paths)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    sources: dict[str, list[pd.DataFrame]] = {}
    for score_path in score_paths:
        sources.setdefault(Path(score_path).parent.name, []).append(reference_percentiles(score_path, references))
    langs = sorted(set(references["language"]))
    width = 0.8 / max(len(sources), 1)
    for i, (source, parts) in enumerate(sorted(sources.items())):
        frame = pd.concat(parts)
        data = [frame.loc[frame["language"] == lang, "percentile"].to_numpy(float) for lang in langs]
        positions = np.arange(len(langs)) + (i - (len(sources) - 1) / 2) * width
        present = [j for j, values in enumerate(data) if values.size]
        if present:
            boxes = left.boxplot(
                [data[j] for j in present],
                positions=positions[present],
                widths=width * 0.9,
                patch_artist=True,
                manage_ticks=False,
            )
            color = f"C{i}"
            for box in boxes["boxes"]:
                box.set_facecolor(color)
                box.set_alpha(0.6)
            left.plot([], [], color=color, linewidth=6, alpha=0.6, label=f"{source} ({len(frame)} prompts)")
    left.axhline(50, color="black", linestyle="--", linewidth=1)
    left.set_xticks(np.arange(len(langs)), langs)
    left.set_ylim(-2, 102)
    left.set_ylabel("reference's percentile among its samples (%)")
    left.set_title("Within a language: the reference answer ranked\namong the same prompt's samples", fontsize=10)
    if sources:
        left.legend(fontsize=7, loc="lower left")
    english = references[references["language"] == source_language].set_index("prompt_id")["reward"]
    for lang in [lang for lang in langs if lang != source_language]:
        other = references[references["language"] == lang].set_index("prompt_id")["reward"]
        both = pd.concat([english, other], axis=1, join="inner", keys=["en", "other"]).dropna()
        if both.empty:
            continue
        rho = spearman(both["en"].to_numpy(float), both["other"].to_numpy(float))
        label = f"{lang}: ρ = {rho:.2f} ({len(both)})" if np.isfinite(rho) else f"{lang}: ρ undefined ({len(both)})"
        right.scatter(both["en"], both["other"], s=10, alpha=0.6, label=label)
    if english.size:
        low, high = float(references["reward"].min()), float(references["reward"].max())
        right.plot([low, high], [low, high], color="black", linestyle="--", linewidth=1)
        right.legend(fontsize=7, title="Spearman ρ (pairs)", title_fontsize=7)
    else:
        right.text(0.5, 0.5, f"no scored {source_language} references", ha="center", va="center", transform=right.transAxes)
    right.set_xlabel(f"reward of the {source_language} reference")
    right.set_ylabel("reward of its translation")
    right.set_title("Across languages: a reference against its translation\n(dashed: equal reward)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def pair_language_plot(pair_paths, path) -> None:
    """Chosen-language x rejected-language counts of each multilingual DPO dataset."""
    multi = [p for p in pair_paths if "/multi-" in str(p)]
    fig, axes = plt.subplots(1, max(len(multi), 1), figsize=(4.2 * max(len(multi), 1), 3.8), squeeze=False)
    if not multi:
        axes[0][0].text(0.5, 0.5, "no multilingual DPO datasets", ha="center", va="center")
        axes[0][0].axis("off")
    for ax, pair_path in zip(axes[0], multi):
        frame = pq.read_table(pair_path, columns=["chosen_language", "rejected_language"]).to_pandas()
        langs = sorted(set(frame["chosen_language"]) | set(frame["rejected_language"]))
        counts = pd.crosstab(frame["chosen_language"], frame["rejected_language"]).reindex(
            index=langs, columns=langs, fill_value=0
        )
        ax.imshow(counts.to_numpy(), cmap="Blues")
        for (i, j), value in np.ndenumerate(counts.to_numpy()):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(langs)), langs)
        ax.set_yticks(range(len(langs)), langs)
        ax.set_xlabel("rejected response's language")
        ax.set_ylabel("chosen response's language")
        parts = Path(pair_path).parts
        ax.set_title(f"{parts[-2]}\n{Path(pair_path).stem}", fontsize=8)
    fig.suptitle("Multilingual DPO pairs: chosen x rejected language", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


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


# ---------------------------------------------------------------- data: prompt domains, token lengths, translations


def domains_plot(source_prompts, sample_stats, path) -> None:
    """The source prompt set's categories (for a corpus sample: its domains, next to the corpus's shares)."""
    categories = pq.read_table(source_prompts, columns=["category"]).column("category").to_pandas().fillna("(none)")
    counts = categories.value_counts()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(counts) + 3), 3.8))
    shares = 100 * counts / max(counts.sum(), 1)
    y = np.arange(len(counts))
    ax.barh(y, shares.to_numpy(), color="#4c72b0", label=f"prompt set ({counts.sum()})")
    if sample_stats:
        strata = json.loads(Path(sample_stats).read_text())["strata"]
        total = sum(v["population"] for v in strata.values()) or 1
        corpus = [100 * strata.get(name, {}).get("population", 0) / total for name in counts.index]
        ax.scatter(corpus, y, marker="|", s=200, color="black", label=f"corpus ({total} usable)", zorder=3)
    for i, (share, count) in enumerate(zip(shares, counts)):
        ax.text(share, i, f" {count}", va="center", fontsize=8)
    ax.set_yticks(y, counts.index)
    ax.invert_yaxis()
    ax.set_xlabel("share of prompts (%)")
    ax.set_title("Domain distribution of the prompts (Figure 2)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def token_lengths_plot(length_paths, path) -> None:
    """Per tokenizer, the token lengths of prompts and reference answers per language (Figure 3)."""
    frames = [
        pq.read_table(p, columns=["language", "tokenizer", "prompt_tokens", "reference_tokens"]).to_pandas() for p in length_paths
    ]
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=["language", "tokenizer", "prompt_tokens", "reference_tokens"])
    tokenizers = sorted(frame["tokenizer"].unique()) or ["(none)"]
    fig, axes = plt.subplots(
        1, len(tokenizers), figsize=(max(5.0, 1.3 * frame["language"].nunique() + 2) * len(tokenizers), 3.8), squeeze=False
    )
    for ax, name in zip(axes[0], tokenizers):
        part = frame[frame["tokenizer"] == name]
        langs = sorted(part["language"].unique())
        for offset, column, color in ((-0.18, "prompt_tokens", "#4c72b0"), (0.18, "reference_tokens", "#dd8452")):
            data = [part.loc[part["language"] == lang, column].to_numpy() for lang in langs]
            if data:
                box = ax.boxplot(data, positions=np.arange(len(langs)) + offset, widths=0.32, patch_artist=True, showfliers=False)
                for patch in box["boxes"]:
                    patch.set_facecolor(color)
        for i, lang in enumerate(langs):
            sub = part[part["language"] == lang]
            ax.text(
                i,
                1.0,
                f"median {int(sub['prompt_tokens'].median())}/{int(sub['reference_tokens'].median())}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_xticks(np.arange(len(langs)), langs)
        ax.set_yscale("log")
        ax.set_ylabel("tokens")
        ax.set_title(f"{name} tokenizer: prompt (blue), reference (orange)", fontsize=9, pad=14)
    fig.suptitle("Token lengths per language (Figure 3)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def protocol_table_html(settings, translation_stats, euroeval: pd.DataFrame, euroeval_versions: dict) -> str:
    """The settings that produced the numbers, the conversations translation dropped, the EuroEval versions."""
    rows = "".join(
        f"<tr><td>{html.escape(stage)}</td><td>{html.escape(key)}</td><td>{html.escape(value)}</td></tr>"
        for stage, key, value in settings
    )
    text = (
        "<table class='results'><thead><tr><th>stage</th><th>setting</th><th>value</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
    )
    if euroeval_versions:
        text += (
            "<p class='note'>EuroEval versions that scored the results: "
            + html.escape(
                ", ".join(
                    f"{version} ({count} job{'s' if count > 1 else ''})" for version, count in sorted(euroeval_versions.items())
                )
            )
            + "</p>"
        )
    if translation_stats:
        body = []
        for path in translation_stats:
            stats = json.loads(Path(path).read_text())
            ids = ", ".join(d["prompt_id"] for d in stats["dropped_conversations"][:20])
            more = " ..." if stats["dropped"] > 20 else ""
            body.append(
                f"<tr><td>{html.escape(stats['language'])}</td><td>{stats['conversations']}</td><td>{stats['translated']}</td>"
                f"<td>{stats['dropped']}</td><td>{stats['truncated']}</td><td>{html.escape(ids + more)}</td></tr>"
            )
        text += (
            "<h3>Machine translation</h3><table class='results'><thead><tr><th>language</th><th>conversations</th>"
            "<th>translated</th><th>dropped (too long)</th><th>truncated outputs</th><th>dropped ids</th></tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )
    return text


# ---------------------------------------------------------------- the page

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}
table.results{border-collapse:collapse;font-size:13px;margin:8px 0}
table.results td,table.results th{border:1px solid #d0d7de;padding:3px 8px;text-align:center}
table.results td:nth-child(-n+3){text-align:left}
table.small{font-size:11px} td.abs{font-weight:bold;background:#f6f8fa} td.na{color:#999}
.note{font-size:12px;color:#57606a} img{max-width:100%;border:1px solid #d0d7de;margin:6px 0}
"""


def embed_png(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{html.escape(Path(path).stem)}' src='data:image/png;base64,{data}'>"


def write_text(text: str, path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def save_figure(plot, path, *args) -> None:
    with atomic_file(path) as tmp:
        plot(*args, tmp)
