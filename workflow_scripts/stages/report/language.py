"""The report's language section: which language the samples are written in (the language-ID tables),
against the language they were asked for. Per sampled source and language: the share of samples in the
requested language, and of the chosen and rejected responses of the DPO pairs; what the other samples are
identified as; the requested language's probability (where the filter's threshold cuts); how the reward of
on- and off-language samples of the same prompt differs; and the chosen x rejected language matrix of the
multilingual pairs, requested next to identified. Tables are read column-wise with pyarrow and joined on
(prompt_id, sample_index); no response text is read."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ID_COLUMNS = ["prompt_id", "language", "sample_index", "identified_language", "requested_probability", "in_requested_language"]
PROBABILITY_BINS = np.linspace(0, 1, 21)
OTHER = "other"


@dataclass
class LanguageSummary:
    """What the section shows, small enough to hold whatever the scale: counts, histograms, per-prompt gaps."""

    rows: list = field(default_factory=list)  # one dict per (source, language)
    composition: dict = field(default_factory=dict)  # (source, language) -> {identified language: samples}
    probability_histograms: dict = field(default_factory=dict)  # (source, language) -> counts over PROBABILITY_BINS
    reward_gaps: dict = field(default_factory=dict)  # (source, language) -> per prompt: mean on - mean off reward
    requested_matrix: pd.DataFrame | None = None  # multilingual pairs: chosen x rejected requested language
    identified_matrix: pd.DataFrame | None = None  # the same pairs by identified language
    multi_datasets: int = 0


def _source_and_language(path) -> tuple[str, str]:
    """results/<kind>/<samples>/<lang>.parquet -> (samples, lang)."""
    path = Path(path)
    return path.parent.name, path.stem


def _in_requested_counts(table: pa.Table) -> tuple[int, int]:
    """(samples identified as the requested language, samples with a verdict) of a joined table."""
    verdict = table.column("in_requested_language")
    return int(pc.sum(verdict.cast(pa.int64())).as_py() or 0), len(verdict) - verdict.null_count


def _reward_gaps(ids: pa.Table, scores_path) -> np.ndarray:
    """Per prompt with both: mean reward of its in-language samples minus that of its off-language ones."""
    scores = pq.read_table(scores_path, columns=["prompt_id", "sample_index", "reward", "status"])
    scores = scores.filter(pc.and_(pc.equal(scores.column("status"), "scored"), pc.is_finite(scores.column("reward"))))
    joined = scores.join(ids.select(["prompt_id", "sample_index", "in_requested_language"]), ["prompt_id", "sample_index"])
    joined = joined.filter(pc.is_valid(joined.column("in_requested_language")))
    means = joined.group_by(["prompt_id", "in_requested_language"]).aggregate([("reward", "mean")])
    on = means.filter(means.column("in_requested_language")).select(["prompt_id", "reward_mean"])
    off = means.filter(pc.invert(means.column("in_requested_language"))).select(["prompt_id", "reward_mean"])
    both = on.join(off.rename_columns(["prompt_id", "off_mean"]), "prompt_id", join_type="inner")
    return (both.column("reward_mean").to_numpy() - both.column("off_mean").to_numpy()).astype(float)


PAIR_COLUMNS = ["prompt_id", "chosen_language", "chosen_sample", "rejected_language", "rejected_sample"]
SIDES = ("chosen", "rejected")
# A pair response's identified language, keyed by its dataset, row and side.
IDENTIFIED_RESPONSE = pa.schema(
    [("dataset", pa.int32()), ("row", pa.int64()), ("side", pa.string()), ("identified_language", pa.string())]
)


def _pair_responses(pair_paths) -> pa.Table:
    """Every response of every DPO pair, each pair file read once: its dataset, row and side, whether the
    dataset is multilingual, and the response's source, requested language, prompt and sample."""
    parts = []
    for index, path in enumerate(pair_paths):
        pairs = pq.read_table(path, columns=PAIR_COLUMNS)
        source, multi = Path(path).parts[-3], Path(path).parts[-2].startswith("multi-")
        for side in SIDES:
            n = pairs.num_rows
            parts.append(
                pa.table(
                    {
                        "dataset": pa.array(np.full(n, index, dtype=np.int32)),
                        "row": pa.array(np.arange(n, dtype=np.int64)),
                        "side": pa.array([side] * n, pa.string()),
                        "multi": pa.array(np.full(n, multi)),
                        "source": pa.array([source] * n, pa.string()),
                        "language": pairs.column(f"{side}_language"),
                        "prompt_id": pairs.column("prompt_id"),
                        "sample_index": pairs.column(f"{side}_sample").cast(pa.int32()),
                    }
                )
            )
    if not parts:
        return pa.table({"dataset": pa.array([], pa.int32()), "multi": pa.array([], pa.bool_())})
    return pa.concat_tables(parts)


def _multilingual_matrices(responses: pa.Table, identified: pa.Table) -> tuple[pd.DataFrame | None, pd.DataFrame | None, int]:
    """Chosen x rejected counts of every multilingual DPO dataset together: by requested and by identified
    language (`?` where a response has no identified language)."""
    multi = responses.filter(responses.column("multi"))
    if multi.num_rows == 0:
        return None, None, 0
    keys = ["dataset", "row", "side"]
    found = multi.select([*keys, "language"]).join(
        identified.select([*keys, "identified_language"]), keys, join_type="left outer"
    )
    frame = found.to_pandas()
    frame["identified_language"] = frame["identified_language"].fillna("?")

    def crosstab(column: str) -> pd.DataFrame:
        wide = frame.pivot(index=["dataset", "row"], columns="side", values=column)
        langs = sorted(set(wide["chosen"]) | set(wide["rejected"]))
        return pd.crosstab(wide["chosen"], wide["rejected"]).reindex(index=langs, columns=langs, fill_value=0)

    return crosstab("language"), crosstab("identified_language"), len(set(frame["dataset"]))


def language_summary(language_id_paths, score_paths, pair_paths) -> LanguageSummary:
    """One pass over the language-ID tables (each read once, then dropped: only the pairs' responses are
    kept), joined with their scores and with the pairs' responses."""
    summary = LanguageSummary()
    scores_by_key = {_source_and_language(p): p for p in score_paths}
    responses = _pair_responses(pair_paths)
    identified_parts = [IDENTIFIED_RESPONSE.empty_table()]
    for path in language_id_paths:
        key = _source_and_language(path)
        ids = pq.read_table(path, columns=ID_COLUMNS)
        hit, judged = _in_requested_counts(ids)
        counts = ids.column("identified_language").fill_null("(empty)").value_counts().to_pylist()
        summary.composition[key] = {c["values"]: c["counts"] for c in counts}
        probability = ids.column("requested_probability").drop_null().to_numpy()
        summary.probability_histograms[key] = np.histogram(probability, PROBABILITY_BINS)[0]
        gaps = _reward_gaps(ids, scores_by_key[key]) if key in scores_by_key else np.array([])
        summary.reward_gaps[key] = gaps
        sides = {side: (0, 0) for side in SIDES}
        if responses.num_rows:
            mine = responses.filter(
                pc.and_(pc.equal(responses.column("source"), key[0]), pc.equal(responses.column("language"), key[1]))
            )
            found = mine.join(
                ids.select(["prompt_id", "sample_index", "identified_language", "in_requested_language"]),
                ["prompt_id", "sample_index"],
                join_type="inner",
            )
            identified_parts.append(found.select(IDENTIFIED_RESPONSE.names))
            sides = {side: _in_requested_counts(found.filter(pc.equal(found.column("side"), side))) for side in SIDES}
        others = sorted(((n, lang) for lang, n in summary.composition[key].items() if lang != key[1]), reverse=True)
        summary.rows.append(
            {
                "source": key[0],
                "language": key[1],
                "samples": ids.num_rows,
                "in_requested": hit,
                "judged": judged,
                "chosen_in_requested": sides["chosen"][0],
                "chosen_judged": sides["chosen"][1],
                "rejected_in_requested": sides["rejected"][0],
                "rejected_judged": sides["rejected"][1],
                "other_languages": [(lang, n) for n, lang in others[:3]],
                "prompts_on_and_off": len(gaps),
                "reward_gap_mean": float(gaps.mean()) if len(gaps) else None,
                "reward_gap_sem": float(gaps.std(ddof=1) / np.sqrt(len(gaps))) if len(gaps) > 1 else None,
            }
        )
    if responses.num_rows:
        summary.requested_matrix, summary.identified_matrix, summary.multi_datasets = _multilingual_matrices(
            responses, pa.concat_tables(identified_parts)
        )
    return summary


# ---------------------------------------------------------------- figure and table


def _share(hit: int, total: int) -> float:
    return hit / total if total else np.nan


def _labels(summary: LanguageSummary) -> list[str]:
    several = len({row["source"] for row in summary.rows}) > 1
    return [f"{row['source']}\n{row['language']}" if several else row["language"] for row in summary.rows]


def _matrix_panel(ax, matrix: pd.DataFrame | None, title: str) -> None:
    if matrix is None or matrix.empty:
        ax.text(0.5, 0.5, "no multilingual DPO pairs", ha="center", va="center")
        ax.axis("off")
        return
    ax.imshow(matrix.to_numpy(), cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(matrix.columns)), matrix.columns)
    ax.set_yticks(range(len(matrix.index)), matrix.index)
    ax.set_xlabel("rejected response")
    ax.set_ylabel("chosen response")
    ax.set_title(title, fontsize=9)


def language_plot(summary: LanguageSummary, min_probability: float, path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    if not summary.rows:
        for ax in axes.flat:
            ax.axis("off")
        axes[0][0].text(0.5, 0.5, "no sampled data", ha="center", va="center")
        fig.savefig(path, dpi=100, format="png")
        plt.close(fig)
        return
    labels = _labels(summary)
    x = np.arange(len(labels))

    ax = axes[0][0]
    shares = {
        "all samples": [_share(r["in_requested"], r["judged"]) for r in summary.rows],
        "chosen (DPO)": [_share(r["chosen_in_requested"], r["chosen_judged"]) for r in summary.rows],
        "rejected (DPO)": [_share(r["rejected_in_requested"], r["rejected_judged"]) for r in summary.rows],
    }
    for k, (name, values) in enumerate(shares.items()):
        ax.bar(x + (k - 1) * 0.27, values, 0.27, label=name)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.3)  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share in the requested language")
    ax.set_title("Samples written in the language they were asked for", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", ncol=3)

    ax = axes[0][1]
    totals: dict[str, int] = {}
    for counts in summary.composition.values():
        for lang, n in counts.items():
            totals[lang] = totals.get(lang, 0) + n
    shown = [lang for lang, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:6]]
    bottom = np.zeros(len(labels))
    for lang in shown + [OTHER]:
        values = []
        for row in summary.rows:
            counts = summary.composition[(row["source"], row["language"])]
            n = sum(v for k, v in counts.items() if k not in shown) if lang == OTHER else counts.get(lang, 0)
            values.append(n / max(row["samples"], 1))
        ax.bar(x, values, 0.6, bottom=bottom, label=lang)
        bottom += values
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share of samples")
    ax.set_title("Identified language of the samples, per requested language", fontsize=9)
    ax.legend(fontsize=7, ncol=4, loc="upper center")

    ax = axes[0][2]
    centres = (PROBABILITY_BINS[:-1] + PROBABILITY_BINS[1:]) / 2
    for label, row in zip(labels, summary.rows):
        counts = summary.probability_histograms[(row["source"], row["language"])]
        ax.step(centres, counts / max(counts.sum(), 1), where="mid", label=label.replace("\n", " "))
    ax.axvline(min_probability, color="black", linestyle="--", linewidth=1)
    ax.text(min_probability, ax.get_ylim()[1] * 0.95, " language_filter\n min_probability", fontsize=7, va="top")
    ax.set_xlabel("probability of the requested language (lid.176)")
    ax.set_ylabel("share of samples")
    ax.set_title("Where the language filter would cut", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[1][0]
    gaps = [summary.reward_gaps[(row["source"], row["language"])] for row in summary.rows]
    if any(len(g) for g in gaps):
        ax.boxplot([g if len(g) else [np.nan] for g in gaps], positions=x, widths=0.5, showmeans=True)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, [f"{label}\n(n={len(g)})" for label, g in zip(labels, gaps)])
    ax.set_ylabel("mean reward: in-language − off-language samples")
    ax.set_title("Reward of on- vs off-language samples of the same prompt", fontsize=9)

    what = f"{summary.multi_datasets} multilingual DPO dataset(s)"
    _matrix_panel(axes[1][1], summary.requested_matrix, f"Requested language ({what})")
    _matrix_panel(axes[1][2], summary.identified_matrix, f"Identified language ({what}; ?: not identified)")
    fig.suptitle("Language identification of every sample (fastText lid.176)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def _percent(hit: int, total: int) -> str:
    return f"{100 * hit / total:.1f}% <span class='note'>({hit}/{total})</span>" if total else "–"


def language_table_html(summary: LanguageSummary) -> str:
    if not summary.rows:
        return "<p class='note'>No sampled data: nothing to identify.</p>"
    head = (
        "<tr><th>samples</th><th>language</th><th>n</th><th>in the requested language</th><th>chosen (DPO)</th>"
        "<th>rejected (DPO)</th><th>most frequent others</th><th>prompts with on- and off-language samples</th>"
        "<th>reward: on − off (mean ± s.e.)</th></tr>"
    )
    body = []
    for r in summary.rows:
        others = ", ".join(f"{lang} {100 * n / max(r['samples'], 1):.1f}%" for lang, n in r["other_languages"]) or "–"
        gap = "–" if r["reward_gap_mean"] is None else f"{r['reward_gap_mean']:+.3f}"
        if r["reward_gap_sem"] is not None:
            gap += f" ± {r['reward_gap_sem']:.3f}"
        cells = [
            html.escape(r["source"]),
            html.escape(r["language"]),
            str(r["samples"]),
            _percent(r["in_requested"], r["judged"]),
            _percent(r["chosen_in_requested"], r["chosen_judged"]),
            _percent(r["rejected_in_requested"], r["rejected_judged"]),
            html.escape(others),
            str(r["prompts_on_and_off"]),
            gap,
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table class='results'>{head}{''.join(body)}</table>"
