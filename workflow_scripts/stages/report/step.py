"""The report step: its tables and figures (the other modules of this package) and one self-contained summary
page with all of them. The plotting libraries load in the job, not while the workflow is planned."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.runtime.spec import Spec


@dataclass(frozen=True)
class ReportSpec(Spec):
    title: str  # the config file's name
    languages: list
    held_out_languages: list  # evaluated, never trained on (Table 2)
    policies: list
    adapter_comparisons: list  # the comparisons of experiments' arena_baselines (Figure 5), not of Figure 4
    source_language: str
    language_filter_min_probability: float  # drawn on the language section's probability histogram
    arena_min_prompts: int  # fewer prompts in a cell: its LC win rate is marked, its subcategory row folded
    curve_batches: dict  # each curve run's global batch (Appendix G's axis: prompts seen), by run
    cost: dict  # the GPU-hour plan: GPU kind, throughput with sources, every job priced (planning/cost.py)
    protocol: dict  # the settings that produced the numbers (protocol.protocol_rows words them)
    software: dict  # versions of the packages that compute it
    code: str


def report_step(snakemake) -> None:
    import pandas as pd

    from workflow_scripts.stages.report.arena import (
        adapter_arena_plot,
        adapter_arena_points,
        arena_frame,
        arena_plot,
        arena_table_html,
        baseline_comparisons,
        split_comparisons,
    )
    from workflow_scripts.stages.report.common import STYLE, embed_png, fold, save_figure, write_csv, write_text
    from workflow_scripts.stages.report.cost import cost_plot, cost_table_html, measured_times, stage_rows
    from workflow_scripts.stages.report.data import (
        domains_plot,
        pair_language_plot,
        reward_consistency_plot,
        reward_plot,
        token_lengths_plot,
    )
    from workflow_scripts.stages.report.euroeval import (
        BASELINE_LANGUAGES,
        BASELINE_METHODS,
        baseline_comparison_html,
        checkpoint_curve_points,
        checkpoint_curves_plot,
        euroeval_deltas,
        euroeval_frame,
        euroeval_table_html,
        final_models,
        held_out_table_html,
    )
    from workflow_scripts.stages.report.language import language_plot, language_summary, language_table_html
    from workflow_scripts.stages.report.lengths import length_html, length_plot, length_tables
    from workflow_scripts.stages.report.protocol import protocol_rows, protocol_table_html
    from workflow_scripts.stages.report.sweep import sweep_html, sweep_plot, sweep_points
    from workflow_scripts.stages.report.training import training_plot

    spec = ReportSpec.load(snakemake.params.spec)
    inputs, out = snakemake.input, snakemake.output
    scores = euroeval_frame(inputs.euroeval)
    versions: dict[str, int] = {}
    for path in inputs.euroeval:
        version = json.loads(Path(path).read_text()).get("euroeval_version", "?")
        versions[version] = versions.get(version, 0) + 1
    protocol_html = protocol_table_html(protocol_rows(spec.protocol), list(inputs.translation_stats), versions)
    write_text(f"<style>{STYLE}</style>{protocol_html}", out.protocol_table)
    source = [p for p in inputs.prompts if Path(p).stem == spec.source_language][0]
    save_figure(domains_plot, out.domains_plot, source, (list(inputs.sample_stats) or [None])[0])
    save_figure(token_lengths_plot, out.token_lengths_plot, list(inputs.token_lengths))
    deltas, delta_half_widths = euroeval_deltas(final_models(scores))
    write_csv(scores, out.euroeval_csv)
    euroeval_html = euroeval_table_html(deltas, delta_half_widths, final_models(scores))
    write_text(f"<style>{STYLE}</style>{euroeval_html}", out.euroeval_table)
    held_out_html = held_out_table_html(final_models(scores), spec.held_out_languages)
    baselines_html = baseline_comparison_html(deltas, delta_half_widths)
    curves = checkpoint_curve_points(scores, spec.curve_batches)  # the values behind Appendix G, also as a table
    write_csv(curves, out.checkpoint_curves_csv)
    save_figure(checkpoint_curves_plot, out.checkpoint_curves_plot, curves)
    write_text(f"<style>{STYLE}</style>{held_out_html}", out.held_out_table)
    overall, sub = arena_frame(inputs.winrates)
    # §4.1: the baselines' m-ArenaHard comparisons next to Paired DPO's, where the config has them
    baseline_arena = baseline_comparisons(overall, BASELINE_LANGUAGES, ("Paired DPO (μ−2σ", *BASELINE_METHODS))
    if not baseline_arena.empty:
        arena_part = arena_table_html(baseline_arena, pd.DataFrame(), spec.arena_min_prompts)
        baselines_html += f"<h3>m-ArenaHard</h3>{arena_part}"
    write_text(f"<style>{STYLE}</style>{baselines_html}", out.baselines_table)
    arena_html = arena_table_html(overall, sub, spec.arena_min_prompts)
    write_text(f"<style>{STYLE}</style>{arena_html}", out.arena_table)
    configured, by_adapter = split_comparisons(overall, spec.adapter_comparisons)
    save_figure(arena_plot, out.arena_plot, configured, spec.arena_min_prompts)
    adapter_points = adapter_arena_points(by_adapter)  # the values behind Figure 5, also as a table
    write_csv(adapter_points, out.adapter_arena_csv)
    save_figure(adapter_arena_plot, out.adapter_arena_plot, adapter_points)
    save_figure(reward_plot, out.rewards_plot, list(inputs.scores), list(inputs.pairs))
    references, scores_files = list(inputs.reference_scores), list(inputs.scores)
    save_figure(reward_consistency_plot, out.reward_consistency_plot, references, scores_files, spec.source_language)
    save_figure(pair_language_plot, out.pair_languages_plot, list(inputs.pairs))
    languages = language_summary(list(inputs.language_id), list(inputs.scores), list(inputs.pairs))
    save_figure(language_plot, out.language_id_plot, languages, spec.language_filter_min_probability)
    language_html = language_table_html(languages)
    write_text(f"<style>{STYLE}</style>{language_html}", out.language_id_table)
    save_figure(training_plot, out.training_plot, list(inputs.adapters))
    correlations, pair_lengths_frame = length_tables(list(inputs.generations), list(inputs.scores), list(inputs.pairs))
    length_part = length_html(correlations, pair_lengths_frame)
    write_text(f"<style>{STYLE}</style>{length_part}", out.length_table)
    save_figure(length_plot, out.length_plot, correlations, pair_lengths_frame)
    sweep = sweep_points(list(inputs.pairs), scores, overall)  # the values behind the sweep figure, also as a table
    write_csv(sweep, out.sweep_csv)
    save_figure(sweep_plot, out.sweep_plot, sweep)
    if "error" in spec.cost:
        cost_part, cost_rows = f"<p class='note'>No GPU-hour plan: {html.escape(spec.cost['error'])}</p>", []
    else:
        cost_rows = stage_rows(spec.cost["jobs"], measured_times(spec.cost["jobs"]))
        cost_part = cost_table_html(cost_rows, spec.cost["gpu"], spec.cost["throughput"])
    write_text(f"<style>{STYLE}</style>{cost_part}", out.cost_table)
    write_csv(pd.DataFrame(cost_rows), out.cost_csv)
    save_figure(cost_plot, out.cost_plot, cost_rows)

    # Results first (Table 1, Figure 4, then the rest), the data and training behind them, the protocol last. A
    # part the configuration has no experiment for is one line, not an empty panel; long tables fold.
    absent: list[str] = []

    def part(title: str, body: str, configured: bool, missing: str) -> str:
        if configured:
            return f"<h2>{title}</h2>{body}"
        absent.append(f"<b>{title}</b>: {missing}")
        return ""

    has_euroeval, has_arena = not scores.empty, not overall.empty
    methods = deltas.index.get_level_values("method") if has_euroeval else []
    baselines_configured = any(m.startswith(BASELINE_METHODS) for m in methods)
    sections = [
        part(
            "EuroEval: difference to the base model per language (Table 1)",
            euroeval_html,
            has_euroeval,
            "EuroEval is off or has no datasets (evaluation.euroeval).",
        ),
        part(
            "m-ArenaHard: length-controlled win rates (Figure 4)",
            embed_png(out.arena_plot),
            not configured.empty,
            "no comparison under evaluation.arena.comparisons.",
        ),
        part(
            "EuroEval on the held-out languages (Table 2)",
            held_out_html,
            bool(spec.held_out_languages) and has_euroeval,
            "no language with EuroEval datasets outside languages.",
        ),
        part(
            "EuroEval: CroCo against the ICR and MAPO baselines (§4.1)",
            baselines_html,
            baselines_configured,
            "no experiment trains the icr or mapo method.",
        ),
        part(
            "m-ArenaHard per training language: low-resource adapters (Figure 5)",
            embed_png(out.adapter_arena_plot),
            bool(spec.adapter_comparisons),
            "no experiment sets arena_baselines.",
        ),
        part(
            "m-ArenaHard: every comparison",
            fold(arena_html, "the win rates of every comparison and language"),
            has_arena,
            "no m-ArenaHard comparison.",
        ),
        part(
            "Where the rejected response sits: the rejection-target sweep",
            embed_png(out.sweep_plot) + fold(sweep_html(sweep), "every point of the sweep"),
            not sweep.empty,
            "no experiment sweeps rejection_targets (two or more on the same samples).",
        ),
        part(
            "Offline and online DPO per checkpoint (Appendix G)",
            embed_png(out.checkpoint_curves_plot),
            bool(spec.curve_batches),
            "no experiment sets curves.",
        ),
    ]
    data_sections = [
        part(
            "Length bias: chosen against rejected responses",
            embed_png(out.length_plot) + length_part,
            not pair_lengths_frame.empty,
            "no DPO pair table.",
        ),
        part("Reward distributions", embed_png(out.rewards_plot), bool(inputs.scores), "no scored samples."),
        part(
            "Reward-model consistency (Appendix B)",
            embed_png(out.reward_consistency_plot),
            bool(inputs.reference_scores),
            "no reference answers scored.",
        ),
        part(
            "Multilingual pairs: chosen x rejected language",
            embed_png(out.pair_languages_plot),
            any("/multi-" in str(p) for p in inputs.pairs),
            "no multilingual DPO pair table.",
        ),
        part(
            "Which language the samples are in (language identification)",
            embed_png(out.language_id_plot) + fold(language_html, "the counts per language"),
            bool(inputs.language_id),
            "no sampled data.",
        ),
        "<h2>Prompts: domains (Figure 2) and token lengths (Figure 3)</h2>"
        + embed_png(out.domains_plot)
        + embed_png(out.token_lengths_plot),
        part("Training curves", embed_png(out.training_plot), bool(inputs.adapters), "no adapter."),
    ]
    cost_section = f"<h2>GPU-hours: planned and measured</h2>{embed_png(out.cost_plot)}{cost_part}"
    not_configured = "<p class='note'>Not in this configuration:<br>" + "<br>".join(absent) + "</p>" if absent else ""
    page = f"""<!doctype html><html><head><meta charset='utf-8'><title>CroCo report: {html.escape(spec.title)}</title>
<style>{STYLE}</style></head><body>
<h1>CroCo report: {html.escape(spec.title)}</h1>
<p class='note'>Languages: {html.escape(", ".join(spec.languages))}. Policies: {html.escape(", ".join(spec.policies))}.
Every number below is read from the workflow's artifacts under results/.</p>
{"".join(sections)}{not_configured}
{"".join(data_sections)}
{cost_section}
<h2>Protocol: the settings behind these numbers</h2>{protocol_html}
</body></html>"""
    write_text(page, out.summary)
    print(f"[croco] report: {out.summary}")
