"""What the report's tables and figures share: how a subject is named as the paper names it, number formats,
the page's style, and atomic writes of figures and HTML fragments."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from workflow_scripts.names import (
    ICR,
    MAPO,
    TRANSLATED,
    parse_dataset,
    parse_sample_source,
    parse_subject,
    parse_target,
    sample_settings,
    setting_value,
)
from workflow_scripts.runtime.atomic import atomic_file

TARGET_NAMES = {"mean_minus_2sigma": "μ−2σ", "q1": "Q1", "min": "min"}


def target_label(target: str) -> str:
    """A rejection target as the report writes it: μ−2σ, Q1, min, μ−1.5σ, quantile 0.1."""
    if target in TARGET_NAMES:
        return TARGET_NAMES[target]
    kind, level = parse_target(target)
    return f"μ−{setting_value(level)}σ" if kind == "sigma" else f"quantile {setting_value(level)}"


SETTING_NAMES = {
    "samples": "samples",
    "temperature": "T",
    "max_tokens": "max tokens",
    "beta": "β",
    "nll_weight": "NLL weight",
    "learning_rate": "lr",
    "lora_r": "LoRA r",
    "lora_alpha": "LoRA α",
    "lora_dropout": "LoRA dropout",
    "epochs": "epochs",
    "max_steps": "steps",
}


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
    elif parsed.get("pairs") == ICR:
        method = "ICR"
    elif parsed.get("pairs") == MAPO:
        method = "MAPO"
    elif parsed.get("online"):
        method = f"Online DPO ({target_label(parsed['target'])})"
    else:
        method = f"Paired DPO ({target_label(parsed['target'])}"
        method += f", prompt: {parsed['prompt_language']})" if regime == "multi" else ")"
    settings = dict(parsed.get("settings", {}))
    if adapter.source != TRANSLATED:
        generator, instructed = parse_sample_source(adapter.source)
        if generator != policy:
            method += f" [off-policy: {generator}]"
        if instructed:
            method += " [language instruction]"
        settings.update(sample_settings(adapter.source))
    if settings:  # an experiment's variant: its rows sit next to the global settings' rows
        named = [f"{SETTING_NAMES[key]} {setting_value(value)}" for key, value in sorted(settings.items())]
        method += " [" + ", ".join(named) + "]"
    return policy, method, regime


def ci(low, high) -> str:
    return "–" if pd.isna(low) else f"[{low:.1f}, {high:.1f}]"


def percent(value) -> str:
    """A rate, or a dash where none exists (every verdict of the games unparseable)."""
    return "–" if value is None or pd.isna(value) else f"{value:.1f}"


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}
table.results{border-collapse:collapse;font-size:13px;margin:8px 0}
table.results td,table.results th{border:1px solid #d0d7de;padding:3px 8px;text-align:center}
table.results td:nth-child(-n+3){text-align:left}
table.small{font-size:11px} td.abs{font-weight:bold;background:#f6f8fa} td.na{color:#999} td.ns{color:#6e7781}
.note{font-size:12px;color:#57606a} img{max-width:100%;border:1px solid #d0d7de;margin:6px 0}
"""


FOLD_ROWS = 12  # a table longer than this folds (<details>), so that the results above it stay in view


def fold(table_html: str, what: str) -> str:
    """A long table folded under a one-line summary; a short one as it is."""
    rows = table_html.count("<tr")
    if rows <= FOLD_ROWS:
        return table_html
    return f"<details><summary>{html.escape(what)} ({rows} rows, folded)</summary>{table_html}</details>"


def embed_png(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{html.escape(Path(path).stem)}' src='data:image/png;base64,{data}'>"


def write_text(text: str, path) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def save_figure(plot, path, *args) -> None:
    with atomic_file(path) as tmp:
        plot(*args, tmp)


def write_csv(frame: pd.DataFrame, path) -> None:
    with atomic_file(path) as tmp:
        frame.to_csv(tmp, index=False)
