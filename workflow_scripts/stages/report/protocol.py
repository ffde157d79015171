"""The report's protocol table: the settings behind its numbers, by stage, worded from the values planning
picked out of the config (`planning/specs/report.py: protocol_values`); the conversations machine translation
dropped; the EuroEval versions that scored the results."""

from __future__ import annotations

import html
import json
from pathlib import Path

# training.common settings the table shows, in this order
TRAINING_KEYS = (
    "epochs",
    "max_steps",
    "max_length",
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "processes",
    "liger_kernel",
    "padding_free",
    "warmup_ratio",
    "weight_decay",
    "seed",
    "eval_fraction",
)


def protocol_rows(values: dict) -> list[tuple[str, str, str]]:
    """(stage, setting, value) rows: which protocol made the numbers."""
    rows = [("models", name, identity) for name, identity in values["models"].items()]
    prompts = values["prompts"]
    if prompts["file"]:
        rows.append(("prompts", "source", prompts["file"]))
    else:
        sample = prompts["sample"]
        rows.append(
            (
                "prompts",
                "source",
                f"{sample['file'] or sample['hub']}: {sample['size']} stratified by "
                f"{sample['stratify_by']}, seed {sample['seed']}",
            )
        )
    if prompts["limit"]:
        rows.append(("prompts", "limit", str(prompts["limit"])))
    translation = values["translation"]
    if translation:
        rows.append(("translation", "model", translation["model"]))
        rows += [
            ("translation", key, str(translation[key])) for key in ("max_tokens", "max_input_tokens", "too_long", "temperature")
        ]
    gen = values["generation"]
    rows.append(("generation", "samples per prompt", str(gen["samples"])))
    rows += [("generation", f"temperature ({g})", str(t)) for g, t in gen["temperatures"].items()]
    rows += [("generation", key, str(gen[key])) for key in ("top_p", "max_tokens", "seed")]
    instructed = gen["instructed_experiments"]
    rows.append(
        (
            "generation",
            "language instruction",
            f"'{gen['language_instruction']}' in {', '.join(instructed)}" if instructed else "none",
        )
    )
    reward = values["reward"]
    rows.append(("reward", "model", f"{reward['model']} ({reward['backend']})"))
    rows += [("reward", key, str(reward[key])) for key in ("max_length", "empty_responses", "non_finite")]
    rows.append(("pairs", "rejection targets", ", ".join(values["rejection_targets"])))
    train = values["training"]
    lora = train["lora"]
    rows.append(("training", "LoRA", f"r {lora['r']}, alpha {lora['alpha']}, dropout {lora['dropout']}"))
    rows.append(
        (
            "training",
            "learning rate",
            f"DPO {train['dpo']['learning_rate']} (beta {train['dpo']['beta']}), SFT {train['sft']['learning_rate']}",
        )
    )
    rows += [("training", key, str(train["common"][key])) for key in TRAINING_KEYS]
    euroeval = values["euroeval"]
    if euroeval:
        rows.append(("EuroEval", "split", "test" if euroeval["evaluate_test_split"] else "validation"))
        rows += [("EuroEval", key, str(euroeval[key])) for key in ("num_iterations", "few_shot")]
        rows.append(("EuroEval", "environment", euroeval["python"] or "this one"))
    arena = values["arena"]
    if arena:
        source = ", ".join(f"{lang}: {path}" for lang, path in arena["prompt_files"].items()) or arena["prompt_hub"]
        rows.append(("m-ArenaHard", "prompts", source))
        answers = arena["answers"]
        rows.append(
            (
                "m-ArenaHard",
                "answers",
                f"max_tokens {answers['max_tokens']}, temperature {answers['temperature']}"
                + "".join(f", {m}: {t}" for m, t in answers["temperatures"].items()),
            )
        )
        judge = arena["judge"]
        rows.append(("m-ArenaHard", "judge", f"{judge['model']} ({judge['mode']})"))
        rows.append(("m-ArenaHard", "judge protocol", judge["protocol"]))
        rows += [
            ("m-ArenaHard", f"judge {key}", str(judge[key]))
            for key in ("orders", "temperature", "allow_ties", "max_tokens")
            if judge[key] is not None
        ]
    return rows


def protocol_table_html(settings, translation_stats, euroeval_versions: dict) -> str:
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
