"""EuroEval in the report: every score with its interval (a CSV), the deltas against the base model per
language (Table 1), the held-out languages (Table 2), and the offline and online DPO checkpoints (Appendix G)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from workflow_scripts.names import parse_subject  # noqa: E402
from workflow_scripts.stages.report.common import method_label  # noqa: E402

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


def euroeval_deltas(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (policy, method, regime) and language: the mean over datasets of (score - base score), and its 95%
    half-width. EuroEval gives each score's half-width h; a difference's is sqrt(h² + h_base²), a mean's over k
    datasets sqrt(sum of those²) / k. That treats the two evaluations as independent: they see the same
    documents, whose shared difficulty cancels in the difference, so the true interval is narrower, never wider.
    The base rows hold the absolute scores and no half-width."""
    frame = frame[frame["primary"].astype(bool)]
    if frame.empty:
        return pd.DataFrame(), pd.DataFrame()
    base_rows = frame[frame["method"] == "base"].set_index(["policy", "language", "dataset"])
    base, base_half = base_rows["score"], base_rows["ci95_half_width"].astype(float)
    tuned = frame[frame["method"] != "base"].copy()
    keys = list(zip(tuned["policy"], tuned["language"], tuned["dataset"]))
    tuned["delta"] = [row_score - base.get(key, np.nan) for row_score, key in zip(tuned["score"], keys)]
    tuned["variance"] = [
        float(h) ** 2 + float(base_half.get(key, np.nan)) ** 2 for h, key in zip(tuned["ci95_half_width"].astype(float), keys)
    ]
    groups = tuned.groupby(["policy", "method", "regime", "language"])
    table = groups["delta"].mean().unstack("language")
    # NaN (an unknown half-width) stays NaN: such a delta is never marked
    half = (groups["variance"].agg(lambda v: np.sqrt(v.sum(skipna=False)) / len(v))).unstack("language")
    base_scores = frame[frame["method"] == "base"].groupby(["policy", "language"])["score"].mean().unstack("language")
    base_scores.index = pd.MultiIndex.from_tuples(
        [(p, "base (absolute)", "-") for p in base_scores.index], names=["policy", "method", "regime"]
    )
    deltas = pd.concat([base_scores, table]).sort_index(level=[0, 2], sort_remaining=False)
    return deltas, half.reindex(index=deltas.index, columns=deltas.columns)


def delta_cell(value: float, absolute: bool, half_width: float = np.nan) -> str:
    """A score (absolute) or a difference with its 95% half-width, coloured only when the interval excludes 0."""
    if pd.isna(value):
        return "<td class='na'>–</td>"
    if absolute:
        return f"<td class='abs'>{value:.1f}</td>"
    text = f"{value:+.1f}" if value != 0 else "±0.0"
    if pd.isna(half_width):
        return f"<td class='ns' title='no interval'>{text} <small>(±?)</small></td>"
    text += f" <small>±{half_width:.1f}</small>"
    if abs(value) <= half_width:
        return f"<td class='ns' title='95% interval includes 0'>{text}</td>"
    shade = min(abs(value) / 10, 1.0)
    color = f"rgba(46,160,67,{0.15 + 0.6 * shade:.2f})" if value > 0 else f"rgba(218,54,51,{0.15 + 0.6 * shade:.2f})"
    return f"<td style='background:{color}' title='95% interval excludes 0'>{text}</td>"


INTERVAL_NOTE = (
    "± is the 95% half-width of the difference, from EuroEval's own half-widths of the two scores (combined as if "
    "independent, so rather too wide than too narrow); a difference is coloured only where its interval excludes "
    "0, grey otherwise."
)


def euroeval_table_html(deltas: pd.DataFrame, half_widths: pd.DataFrame, frame: pd.DataFrame, note: str | None = None) -> str:
    """Table 1: a row per policy, method and regime, a column per language; `note` replaces the primary metrics'
    list under it."""
    if deltas.empty:
        return "<p>No EuroEval results were configured.</p>"
    langs = list(deltas.columns)
    head = "".join(f"<th>{html.escape(lang)}</th>" for lang in langs)
    body = []
    for (policy, method, regime), row in deltas.iterrows():
        absolute = method.startswith("base")
        cells = "".join(delta_cell(row[lang], absolute, half_widths.at[(policy, method, regime), lang]) for lang in langs)
        body.append(f"<tr><td>{html.escape(policy)}</td><td>{html.escape(method)}</td><td>{regime}</td>{cells}</tr>")
    primary = frame[frame["primary"].astype(bool)]
    metrics = ", ".join(sorted({f"{d}: {m}" for d, m in zip(primary["dataset"], primary["metric"])}))
    note = note or f"Primary metrics: {html.escape(metrics)}."
    return (
        "<table class='results'><thead><tr><th>policy</th><th>method</th><th>regime</th>" + head + "</tr></thead>"
        "<tbody>" + "".join(body) + "</tbody></table>"
        f"<p class='note'>Mean over each language's datasets of the primary metric, in points: the base row is "
        f"absolute, every other row the difference to its base. {INTERVAL_NOTE} {note}</p>"
    )


# The paper's §4.1 comparison: the languages its baselines (ICR, MAPO) share with it, and the methods compared.
BASELINE_LANGUAGES = ["de", "en", "es", "fr"]
BASELINE_METHODS = ("ICR", "MAPO")


def baseline_comparison_html(deltas: pd.DataFrame, half_widths: pd.DataFrame) -> str:
    """The paper's §4.1 table: per policy, the base (absolute), Paired DPO (mono and multi) and the ICR and MAPO
    adapters, as Table 1's deltas in German, English, Spanish and French. Empty (one line) without a baseline."""
    if deltas.empty:
        return "<p class='note'>No EuroEval results: no baseline comparison.</p>"
    methods = deltas.index.get_level_values("method")
    policies = sorted(set(deltas.index.get_level_values("policy")[methods.str.startswith(BASELINE_METHODS)]))
    if not policies:
        return "<p class='note'>No experiment trains the ICR or MAPO baseline (methods icr, mapo).</p>"
    keep = methods.str.startswith(("base", "Paired DPO (μ−2σ", *BASELINE_METHODS))
    keep &= deltas.index.get_level_values("policy").isin(policies)
    langs = [lang for lang in BASELINE_LANGUAGES if lang in deltas.columns]
    table, half = deltas[keep].reindex(columns=langs), half_widths[keep].reindex(columns=langs)
    note = "The languages ICR and MAPO share with the paper (§4.1); Table 1 above has every method and language."
    return euroeval_table_html(table, half, pd.DataFrame(columns=["primary", "dataset", "metric"]), note)


def held_out_table_html(frame: pd.DataFrame, held_out: list[str]) -> str:
    """Table 2: on each held-out language (evaluated, never trained on), every dataset's primary score of the base
    (absolute) and each adapter's difference to it, in points."""
    frame = frame[frame["primary"].astype(bool) & frame["language"].isin(held_out)]
    if frame.empty:
        return "<p>No held-out languages were evaluated (languages with EuroEval datasets but no training data).</p>"
    columns = list(dict.fromkeys(zip(frame["language"], frame["dataset"])))
    columns.sort(key=lambda key: held_out.index(key[0]))
    indexed = frame.set_index(["policy", "method", "regime", "language", "dataset"])
    scores, halves = indexed["score"], indexed["ci95_half_width"].astype(float)
    base_rows = frame[frame["method"] == "base"].set_index(["policy", "language", "dataset"])
    base, base_half = base_rows["score"], base_rows["ci95_half_width"].astype(float)
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
            half = np.nan
            if method != "base":
                value = value - base.get((policy, lang, name), np.nan)
                half_own = halves.get((policy, method, regime, lang, name), np.nan)
                half = float(np.hypot(half_own, base_half.get((policy, lang, name), np.nan)))
            cells.append(delta_cell(value, method == "base", half))
        label = "base (absolute)" if method == "base" else method
        body.append(f"<tr><td>{html.escape(policy)}</td><td>{html.escape(label)}</td><td>{regime}</td>{''.join(cells)}</tr>")
    return (
        "<table class='results'><thead><tr><th rowspan='2'>policy</th><th rowspan='2'>method</th>"
        f"<th rowspan='2'>regime</th>{head_langs}</tr><tr>{head_sets}</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table><p class='note'>Held-out languages: evaluated, never trained on. Primary metric per "
        "dataset, in points: the base row is absolute, every other row the difference to its base. " + INTERVAL_NOTE + "</p>"
    )


CURVE_COLUMNS = ["policy", "scope", "language", "method", "step", "prompts", "seeds", "mean", "std"]


def checkpoint_curve_points(frame: pd.DataFrame, batches: dict[str, int]) -> pd.DataFrame:
    """Appendix G's points: per policy, scope, language and method, each checkpoint's EuroEval score as the difference
    to the base model (the mean of the language's datasets' primary metric), the mean over seeds and its standard
    deviation; step 0 is the base model itself (0, 0). `prompts` is the prompts seen by then: the step times the
    run's global batch (`batches`, by run; NaN for a run it lacks)."""
    primary = frame[frame["primary"].astype(bool)]
    points = primary[primary["step"].notna()]
    base = primary[primary["method"] == "base"].set_index(["policy", "language", "dataset"])["score"]
    rows = []
    for (policy, lang), part in points.groupby(["policy", "language"], sort=True):
        part = part.assign(scope=[parse_subject(subject)[1].scope for subject in part["subject"]])
        keys = list(zip(part["policy"], part["language"], part["dataset"]))
        part = part.assign(delta=[score - base.get(key, np.nan) for score, key in zip(part["score"], keys)])
        part = part.assign(batch=[batches.get(run, np.nan) for run in part["run"]])
        per_seed = part.groupby(["scope", "method", "seed", "step"]).agg(delta=("delta", "mean"), batch=("batch", "first"))
        for (scope, method), curve in per_seed.reset_index().groupby(["scope", "method"], sort=True):
            stats = curve.groupby("step").agg(
                mean=("delta", "mean"), std=("delta", "std"), count=("delta", "count"), batch=("batch", "first")
            )
            seeds = int(stats["count"].max())
            rows.append((policy, scope, lang, method, 0, 0.0, seeds, 0.0, 0.0))
            for step in stats.reset_index().itertuples():
                prompts = float(step.step * step.batch)
                rows.append(
                    (
                        policy,
                        scope,
                        lang,
                        method,
                        int(step.step),
                        prompts,
                        seeds,
                        float(step.mean),
                        float(np.nan_to_num(step.std)),
                    )
                )
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def checkpoint_curves_plot(curves: pd.DataFrame, path) -> None:
    """Appendix G: every curve run's points (checkpoint_curve_points) against the prompts seen (the step where a
    run's global batch is unknown), the mean over seeds with a band of one standard deviation; one panel per
    policy, scope and language, one line per method (offline and online DPO)."""
    by_prompts = bool(len(curves)) and curves["prompts"].notna().all()
    panels = list(dict.fromkeys(zip(curves["policy"], curves["scope"], curves["language"]))) or [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(9.5, 6 * len(panels)), 3.8), squeeze=False)
    if panels == [None]:
        axes[0][0].text(0.5, 0.5, "no experiment sets curves", ha="center", va="center")
        axes[0][0].axis("off")
        panels = []
    for ax, (policy, scope, lang) in zip(axes[0], panels):
        part = curves[(curves["policy"] == policy) & (curves["scope"] == scope) & (curves["language"] == lang)]
        for method, curve in part.groupby("method", sort=True):
            steps, mean, std = (curve[column].to_numpy(float) for column in ("prompts" if by_prompts else "step", "mean", "std"))
            seeds = int(curve["seeds"].max())
            line = ax.plot(steps, mean, marker="o", markersize=4, label=f"{method} ({seeds} seed{'s' * (seeds > 1)})")[0]
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.axhline(0, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel("prompts seen (steps x global batch)" if by_prompts else "training step")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("EuroEval: difference to the base (points)")
        ax.set_title(f"{policy}, {scope}, evaluated in {lang}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Offline and online DPO per checkpoint (Appendix G; bands: one standard deviation over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
