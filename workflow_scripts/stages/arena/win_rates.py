"""Win rates of one comparison in one language from its judgments: raw and length-controlled, overall and per
subcategory, with bootstrap intervals (the statistics: lc.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import write_json
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_parquet_columns, require_unique_keys


@dataclass(frozen=True)
class WinRateSpec(Spec):
    comparison: str
    model: str  # the compared subjects
    baseline: str
    judge: str
    protocol: str
    language: str
    bootstrap_samples: int
    seed: int
    software: dict  # versions of the packages that compute it
    code: str


JUDGMENT_COLUMNS = {
    "prompt_id": "string",
    "model_is_first": "boolean",
    "category": "string",
    "subcategory": "string",
    "status": "string",
    "outcome": "float",
    "model_tokens": "integer",
    "baseline_tokens": "integer",
    "model_chars": "integer",
    "baseline_chars": "integer",
}


# The length the LC win rate controls for: characters under the authors' protocol, tokens under ours.
LENGTH_UNITS = {"paper": "chars", "debiased": "tokens"}


def win_rates(judgments: pa.Table, bootstrap_samples: int, seed: int, path=None, protocol: str = "debiased") -> dict:
    """Overall and per-subcategory results from a judgments table (see JUDGMENT_SCHEMA). A game whose
    verdict could not be parsed is counted as unparseable, one whose judge prompt did not fit as too long;
    neither is ever a win, tie or loss."""
    from workflow_scripts.stages.arena.lc import summarize

    frame = judgments.to_pandas()
    if frame.empty:
        raise UserError("no judged games", file=path and str(path), field="outcome")
    unit = LENGTH_UNITS[protocol]

    def block(part):
        parsed = part[part["outcome"].notna()]
        result = summarize(
            parsed["outcome"].to_numpy(float),
            (parsed[f"model_{unit}"] - parsed[f"baseline_{unit}"]).to_numpy(float),
            groups=parsed["prompt_id"].to_numpy(),
            bootstrap_samples=bootstrap_samples,
            seed=seed,
            lc_method=protocol,
        )
        result["unparseable"] = int((part["status"] == "unparseable").sum())
        result["too_long"] = int((part["status"] == "too_long").sum())
        result["prompts"] = int(part["prompt_id"].nunique())
        result[f"mean_model_{unit}"] = float(part[f"model_{unit}"].mean())
        result[f"mean_baseline_{unit}"] = float(part[f"baseline_{unit}"].mean())
        return result

    overall = block(frame)
    by = {}
    key = frame["subcategory"].fillna(frame["category"]).fillna("(none)")
    for name, part in frame.groupby(key, sort=True):
        by[str(name)] = block(part)
    return {"overall": overall, "by_subcategory": by}


def clean_nan(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_nan(v) for v in obj]
    return obj


def win_rate_step(snakemake) -> None:
    spec = WinRateSpec.load(snakemake.params.spec)
    judgments = read_parquet_columns(snakemake.input.judgments, JUDGMENT_COLUMNS)
    require_unique_keys(judgments, snakemake.input.judgments, ["prompt_id", "model_is_first"])  # one game per prompt and order
    result = win_rates(judgments, spec.bootstrap_samples, spec.seed, snakemake.input.judgments, spec.protocol)
    result.update({k: getattr(spec, k) for k in ("comparison", "model", "baseline", "judge", "language", "protocol")})
    result["length_unit"] = LENGTH_UNITS[spec.protocol]
    write_json(clean_nan(result), snakemake.output[0])
    o = result["overall"]
    print(
        f"[croco] {spec.comparison} ({spec.language}): win rate {o['win_rate']:.1f}%, "
        f"LC {o['lc_win_rate']:.1f}% [{o['lc_win_rate_ci95'][0]:.1f}, {o['lc_win_rate_ci95'][1]:.1f}], "
        f"{o['unparseable']} unparseable, {o['too_long']} too long for the judge ({spec.protocol} protocol)"
    )
