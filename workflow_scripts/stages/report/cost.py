"""The GPU-hour plan against what the jobs took: each planned job's assumed GPU-seconds (planning/cost.py prices
them) next to the time its log reports (`[croco] rule ... finished in N s`, runtime/step.py). Where some jobs of
a stage and model ran, their measured / assumed ratio replaces the assumption for the rest of that stage and
model. Used by the report job and by `python -m workflow_scripts.planning.cost`."""

from __future__ import annotations

import html
import re
from pathlib import Path

STAGES = ("translate", "generate", "score", "baseline rewards", "train", "euroeval", "arena answers", "judge")
UNITS = {
    "translate": "prompts",
    "generate": "samples",
    "score": "samples",
    "baseline rewards": "samples",
    "train": "examples",
    "euroeval": "examples",
    "arena answers": "answers",
    "judge": "judge calls",
}
FINISHED_RE = re.compile(r"\[croco\] rule \S+ finished in ([0-9.]+) s")


def finished_seconds(log: Path) -> float | None:
    """The step's own time from its log's last `finished in` line (None: not run here, failed, or restored from
    a cache)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    found = FINISHED_RE.findall(text)
    return float(found[-1]) if found else None


def measured_times(jobs: list[dict], base: str | Path = ".") -> dict[str, float]:
    """log -> measured seconds, for every planned job whose log says it finished."""
    out = {}
    for job in jobs:
        seconds = finished_seconds(Path(base) / job["log"])
        if seconds is not None:
            out[job["log"]] = seconds
    return out


def measured_gpu_seconds(job: dict, seconds: float) -> float:
    """A job's wall time times the GPUs it held (a job without a GPU counts its wall time)."""
    return seconds * max(job["gpus"], 1)


def stage_rows(jobs: list[dict], measured: dict[str, float]) -> list[dict]:
    """Per stage: jobs, calls, tokens and GPU-hours at the assumed rates; the measured hours of the jobs that ran
    and what was assumed for those; and the plan with each (stage, models) group's measured / assumed ratio in
    place of the assumption where some of its jobs ran."""
    rows = []
    for stage in STAGES:
        part = [job for job in jobs if job["stage"] == stage]
        if not part:
            continue
        ran = [job for job in part if job["log"] in measured]
        ratio: dict[tuple, float] = {}
        for models in {tuple(job["models"]) for job in ran}:
            group = [job for job in ran if tuple(job["models"]) == models]
            assumed = sum(job["assumed_gpu_seconds"] for job in group)
            if assumed > 0:
                ratio[models] = sum(measured_gpu_seconds(job, measured[job["log"]]) for job in group) / assumed
        rows.append(
            {
                "stage": stage,
                "unit": UNITS[stage],
                "jobs": len(part),
                "calls": sum(job["calls"] for job in part),
                "tokens_read": sum(job["tokens_read"] for job in part),
                "tokens_generated": sum(job["tokens_generated"] for job in part),
                "tokens_trained": sum(job["tokens_trained"] for job in part),
                "gpu_hours_assumed": sum(job["assumed_gpu_seconds"] for job in part) / 3600,
                "jobs_measured": len(ran),
                "hours_assumed_for_measured": sum(job["assumed_gpu_seconds"] for job in ran) / 3600,
                "hours_measured": sum(measured_gpu_seconds(job, measured[job["log"]]) for job in ran) / 3600,
                "gpu_hours_planned": sum(job["assumed_gpu_seconds"] * ratio.get(tuple(job["models"]), 1.0) for job in part)
                / 3600,
                "rate": "measured" if ratio else "assumed",
            }
        )
    return rows


def hours(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}" if x else "0"


COLUMNS = (
    *("stage", "jobs", "calls", "tokens read", "generated", "trained"),
    *("GPU-h assumed", "ran", "measured h", "of them assumed", "plan h"),
)


def row_cells(row: dict) -> list[str]:
    return [
        row["stage"],
        str(row["jobs"]),
        f"{row['calls']:,} {row['unit']}",
        f"{row['tokens_read']:,.3g}",
        f"{row['tokens_generated']:,.3g}",
        f"{row['tokens_trained']:,.3g}",
        hours(row["gpu_hours_assumed"]),
        str(row["jobs_measured"]),
        hours(row["hours_measured"]) if row["jobs_measured"] else "-",
        hours(row["hours_assumed_for_measured"]) if row["jobs_measured"] else "-",
        hours(row["gpu_hours_planned"]) + (" (measured rate)" if row["rate"] == "measured" else ""),
    ]


def total_cells(rows: list[dict]) -> list[str]:
    ran = sum(r["jobs_measured"] for r in rows)
    return [
        "total",
        str(sum(r["jobs"] for r in rows)),
        *[""] * 4,
        hours(sum(r["gpu_hours_assumed"] for r in rows)),
        str(ran),
        hours(sum(r["hours_measured"] for r in rows)) if ran else "-",
        hours(sum(r["hours_assumed_for_measured"] for r in rows)) if ran else "-",
        hours(sum(r["gpu_hours_planned"] for r in rows)),
    ]


def source_lines(gpu: str, throughput: dict) -> list[str]:
    return [
        f"{kind}: {entry['tokens_per_second']:,} tokens/s at {entry['model_size_b']}B ({entry['source']})"
        for kind, entry in throughput.items()
    ]


def format_table(rows: list[dict], gpu: str, throughput: dict) -> str:
    """The plan as plain text (the command's output)."""
    lines = [list(COLUMNS), *map(row_cells, rows), total_cells(rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))) for line in lines
    )
    notes = "\n".join(f"  {line}" for line in source_lines(gpu, throughput))
    return (
        f"{text}\n\nGPU-hours on {gpu}; 'measured h' is the logged time of the jobs that ran, times their GPUs (their wall"
        f" time without a GPU).\nThroughput on one {gpu}, scaled to each model by its parameters:\n{notes}"
    )


def cost_table_html(rows: list[dict], gpu: str, throughput: dict) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    lines = [*map(row_cells, rows), total_cells(rows)]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in lines)
    sources = "".join(f"<li>{html.escape(line)}</li>" for line in source_lines(gpu, throughput))
    return (
        f"<table><tr>{head}</tr>{body}</table>"
        f"<p class='note'>GPU-hours on {html.escape(gpu)} at the assumed throughput; <em>measured h</em>: the time the"
        " jobs' logs report, times the GPUs each held (wall time without a GPU), next to what was assumed for the same"
        " jobs; <em>plan h</em>: the plan with the measured rate of each stage and model where some of its jobs ran."
        f" Throughput on one GPU, scaled to each model by its parameters:</p><ul class='note'>{sources}</ul>"
    )


def cost_plot(rows: list[dict], path) -> None:
    """Planned against measured hours per stage, for the stages where jobs ran (log scale: stages differ by orders
    of magnitude)."""
    import matplotlib.pyplot as plt
    import numpy as np

    ran = [r for r in rows if r["jobs_measured"]]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if not ran:
        ax.text(0.5, 0.5, "no job of the plan has run yet", ha="center", va="center")
        ax.set_axis_off()
    else:
        x = np.arange(len(ran))
        ax.bar(x - 0.2, [r["hours_assumed_for_measured"] for r in ran], 0.4, label="assumed for the jobs that ran")
        ax.bar(x + 0.2, [r["hours_measured"] for r in ran], 0.4, label="measured")
        ax.set_xticks(x, [f"{r['stage']}\n({r['jobs_measured']} jobs)" for r in ran], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("hours")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
