"""Length bias: does the reward, and so DPO, prefer longer responses? Per sample source and language, the rank
correlation of reward with length; per pair table (language and regime), the chosen and rejected responses'
lengths in characters and tokens and the share of pairs whose chosen response is the longer.

Lengths come from the generation tables, read one row group at a time: the token count is a column, the character
count is computed on the Arrow column (pyarrow.compute.utf8_length), so response texts never become Python
objects."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflow_scripts.stages.report.data import spearman


def sample_lengths(generation_path) -> pa.Table:
    """language, prompt_id, sample_index, chars, tokens of every sample of one generation table."""
    parquet = pq.ParquetFile(generation_path)
    parts = []
    for i in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(i, columns=["language", "prompt_id", "sample_index", "response", "response_tokens"])
        parts.append(
            pa.table(
                {
                    "language": group.column("language"),
                    "prompt_id": group.column("prompt_id"),
                    "sample_index": group.column("sample_index"),
                    "chars": pc.utf8_length(pc.fill_null(group.column("response"), "")).cast(pa.int64()),
                    "tokens": group.column("response_tokens").cast(pa.int64()),
                }
            )
        )
    if parts:
        return pa.concat_tables(parts)
    return pa.table(
        {"language": pa.array([], pa.string()), "prompt_id": pa.array([], pa.string()), "sample_index": pa.array([], pa.int32())}
        | {"chars": pa.array([], pa.int64()), "tokens": pa.array([], pa.int64())}
    )


def source_of(path) -> str:
    """The sample source of a generation or score table: results/<kind>/<source>/<lang>.parquet."""
    return Path(path).parent.name


def reward_length_correlations(score_paths, lengths: dict[tuple[str, str], pa.Table]) -> pd.DataFrame:
    """Per sample source and language: scored samples and the Spearman correlation of reward with characters and
    with tokens."""
    rows = []
    for score_path in score_paths:
        key = (source_of(score_path), Path(score_path).stem)
        if key not in lengths:
            continue
        scores = pq.read_table(score_path, columns=["prompt_id", "sample_index", "reward", "status"])
        scores = scores.filter(pc.equal(scores.column("status"), "scored"))
        joined = scores.join(lengths[key], ["prompt_id", "sample_index"]).to_pandas()
        joined = joined[np.isfinite(joined["reward"].astype(float))]
        rows.append(
            {
                "source": key[0],
                "language": key[1],
                "samples": len(joined),
                "spearman_chars": spearman(joined["reward"].to_numpy(), joined["chars"].to_numpy(float)),
                "spearman_tokens": spearman(joined["reward"].to_numpy(), joined["tokens"].to_numpy(float)),
            }
        )
    return pd.DataFrame(rows, columns=["source", "language", "samples", "spearman_chars", "spearman_tokens"])


def pair_lengths(pair_paths, lengths: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Per pair table and chosen response's language: pairs, mean chosen and rejected length (characters, tokens),
    and the share of pairs whose chosen response has more tokens (and more characters)."""
    rows = []
    columns = ["prompt_id", "chosen_language", "rejected_language", "chosen_sample", "rejected_sample"]
    for pair_path in pair_paths:
        path = Path(pair_path)
        source, scope, dataset = path.parent.parent.name, path.parent.name, path.stem
        pairs = pq.read_table(pair_path, columns=columns).to_pandas()
        if pairs.empty:
            continue
        langs = sorted(set(pairs["chosen_language"]) | set(pairs["rejected_language"]))
        every = pd.concat([lengths[(source, lang)] for lang in langs])
        for side in ("chosen", "rejected"):
            renamed = {"language": "language", "sample_index": "sample", "chars": "chars", "tokens": "tokens"}
            named = every.rename(columns={old: f"{side}_{new}" for old, new in renamed.items()})
            pairs = pairs.merge(named, on=["prompt_id", f"{side}_language", f"{side}_sample"], how="left")
        for lang, part in pairs.groupby("chosen_language"):
            rows.append(
                {
                    "source": source,
                    "regime": scope.split("-", 1)[0],
                    "scope": scope,
                    "dataset": dataset,
                    "language": lang,
                    "pairs": len(part),
                    "chosen_chars": part["chosen_chars"].mean(),
                    "rejected_chars": part["rejected_chars"].mean(),
                    "chosen_tokens": part["chosen_tokens"].mean(),
                    "rejected_tokens": part["rejected_tokens"].mean(),
                    "chosen_longer_tokens": float((part["chosen_tokens"] > part["rejected_tokens"]).mean()),
                    # equal lengths are neither (a generation cap makes many)
                    "same_length_tokens": float((part["chosen_tokens"] == part["rejected_tokens"]).mean()),
                    "chosen_longer_chars": float((part["chosen_chars"] > part["rejected_chars"]).mean()),
                }
            )
    return pd.DataFrame(rows)


def length_tables(generation_paths, score_paths, pair_paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    lengths = {(source_of(p), Path(p).stem): sample_lengths(p) for p in generation_paths}
    frames = {key: table.to_pandas() for key, table in lengths.items()}  # once per language, not per pair table
    return reward_length_correlations(score_paths, lengths), pair_lengths(pair_paths, frames)


def length_html(correlations: pd.DataFrame, pairs: pd.DataFrame) -> str:
    if pairs.empty and correlations.empty:
        return "<p class='note'>No pair table in this configuration: no length comparison.</p>"

    def number(x, fmt="{:.1f}") -> str:
        return "–" if pd.isna(x) else fmt.format(x)

    corr_rows = "".join(
        f"<tr><td>{html.escape(r.source)}</td><td>{r.language}</td><td>{r.samples}</td>"
        f"<td>{number(r.spearman_chars, '{:+.2f}')}</td><td>{number(r.spearman_tokens, '{:+.2f}')}</td></tr>"
        for r in correlations.itertuples()
    )
    pair_rows = "".join(
        f"<tr><td>{html.escape(r.dataset)}</td><td>{r.regime}</td><td>{r.language}</td><td>{r.pairs}</td>"
        f"<td>{number(r.chosen_chars, '{:.0f}')}</td><td>{number(r.rejected_chars, '{:.0f}')}</td>"
        f"<td>{number(r.chosen_tokens)}</td><td>{number(r.rejected_tokens)}</td>"
        f"<td>{100 * r.chosen_longer_tokens:.0f}%</td><td>{100 * r.same_length_tokens:.0f}%</td>"
        f"<td>{100 * r.chosen_longer_chars:.0f}%</td></tr>"
        for r in pairs.itertuples()
    )
    return (
        "<h3>Reward against length, every scored sample</h3>"
        "<table class='results'><tr><th>samples of</th><th>language</th><th>scored</th>"
        "<th>Spearman ρ, characters</th><th>Spearman ρ, tokens</th></tr>"
        f"{corr_rows}</table>"
        "<h3>Chosen against rejected, per pair table and language of the chosen response</h3>"
        "<table class='results'><tr><th>pairs</th><th>regime</th><th>language</th><th>n</th>"
        "<th>chosen chars</th><th>rejected chars</th><th>chosen tokens</th><th>rejected tokens</th>"
        "<th>chosen longer (tokens)</th><th>same length (tokens)</th><th>chosen longer (chars)</th></tr>"
        f"{pair_rows}</table>"
        "<p class='note'>A positive ρ means the reward model prefers longer answers; a share of longer chosen"
        " responses well above that of longer rejected ones means DPO on these pairs can learn length rather than"
        " quality (pairs of the same length, common where responses reach the generation's token limit, are"
        " neither).</p>"
    )


def length_plot(correlations: pd.DataFrame, pairs: pd.DataFrame, path) -> None:
    """Left: per language and regime, the shares of pairs whose chosen response is longer, as long, or shorter
    (tokens). Right: chosen against rejected mean tokens."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    if pairs.empty:
        for ax in axes:
            ax.text(0.5, 0.5, "no pair table", ha="center", va="center")
            ax.set_axis_off()
    else:
        labels = [f"{r.language} {r.regime}\n{r.dataset}" for r in pairs.itertuples()]
        x = np.arange(len(pairs))
        longer, same = 100 * pairs["chosen_longer_tokens"], 100 * pairs["same_length_tokens"]
        axes[0].bar(x, longer, color="#0969da", label="chosen longer")
        axes[0].bar(x, same, bottom=longer, color="#bbbbbb", label="same length")
        axes[0].bar(x, 100 - longer - same, bottom=longer + same, color="#fb8f44", label="rejected longer")
        axes[0].set_ylim(0, 100)
        axes[0].set_ylabel("% of pairs (tokens)")
        axes[0].legend(fontsize=7)
        axes[0].set_xticks(x, labels, fontsize=6, rotation=60, ha="right")
        axes[1].bar(x - 0.2, pairs["chosen_tokens"], 0.4, label="chosen", color="#2ea043")
        axes[1].bar(x + 0.2, pairs["rejected_tokens"], 0.4, label="rejected", color="#da3633")
        axes[1].set_ylabel("mean tokens")
        axes[1].set_xticks(x, labels, fontsize=6, rotation=60, ha="right")
        axes[1].legend(fontsize=8)
    fig.suptitle("Length of the chosen and rejected responses", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
