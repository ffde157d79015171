"""The data in the report: reward distributions with the chosen and rejected samples, the reward-model
consistency check (Appendix B), the language pairs of multilingual DPO, the prompts' domains (Figure 2) and their
token lengths (Figure 3). Large tables are read column-wise (rewards only, pair columns only); response texts are
never loaded."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

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
