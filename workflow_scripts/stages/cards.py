"""Hugging Face cards for the training datasets and the adapters: a README.md with YAML metadata (languages,
licences, base model, tags) and a body with how the artifact was made (the pair rule and its parameters, the
training hyperparameters, the models' commits, software versions, the spec's hash), rendered with
huggingface_hub's card classes and read back with them before it is written, so a card that would not load on
the Hub fails its job. `python -m workflow_scripts.publish` pushes an artifact with its card."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import atomic_file
from workflow_scripts.runtime.spec import Spec


@dataclass(frozen=True)
class CardSpec(Spec):
    kind: str  # dataset | adapter
    name: str  # the artifact's path under results/
    title: str
    languages: list
    licenses: dict  # source -> licence id (unknown where the config names none)
    base_model: str | None  # an adapter's base: its Hub id, else its name
    tags: list
    rule: dict  # a dataset's pair or SFT rule and its parameters; an adapter's method and hyperparameters
    provenance: dict  # model identities, software versions, the artifact's spec hash, the code fingerprint
    code: str


def size_category(rows: int) -> str:
    """The Hub's size_categories bucket."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def license_field(licenses: dict):
    """One licence id, the list of distinct ones, or `unknown` where a source has none."""
    found = sorted(set(licenses.values())) or ["unknown"]
    return found[0] if len(found) == 1 else found


def table(rows: dict) -> str:
    lines = ["| | |", "| --- | --- |"]
    lines += [
        f"| {key} | `{json.dumps(value, default=str) if isinstance(value, (dict, list)) else value}` |"
        for key, value in rows.items()
    ]
    return "\n".join(lines)


def provenance_text(spec: CardSpec) -> str:
    return (
        "## Provenance\n\n"
        "Everything that decided this artifact, as the workflow recorded it (the spec hash changes exactly when "
        "the artifact would be recomputed):\n\n" + table(spec.provenance)
    )


def licence_text(spec: CardSpec) -> str:
    unknown = sorted(source for source, licence in spec.licenses.items() if licence == "unknown")
    lines = "\n".join(f"- {source}: `{licence}`" for source, licence in spec.licenses.items())
    note = (
        f"\n\nNo licence is configured for {', '.join(unknown)} (`prompts.license`, `models.<name>.license`): check the "
        "source's own terms before publishing."
        if unknown
        else ""
    )
    return f"## Licences of the sources\n\n{lines}{note}"


def dataset_card(spec: CardSpec, stats: dict, rows: int):
    from huggingface_hub import DatasetCard, DatasetCardData

    data = DatasetCardData(
        language=list(spec.languages),
        license=license_field(spec.licenses),
        pretty_name=spec.title,
        size_categories=[size_category(rows)],
        task_categories=["text-generation"],
        tags=list(spec.tags),
        croco={"rule": spec.rule, "provenance": spec.provenance},
    )
    counts = {key: stats[key] for key in ("prompts", "pairs", "rows", "unpairable", "excluded_samples") if key in stats}
    body = (
        f"# {spec.title}\n\n"
        f"{rows:,} rows from the CroCo workflow (cross-lingual contrastive preference tuning on self-generations, "
        f"arXiv 2605.26293), `{spec.name}`.\n\n## How the rows were made\n\n{table(spec.rule)}\n\n"
        f"## Counts\n\n{table(counts)}\n\n{licence_text(spec)}\n\n{provenance_text(spec)}\n"
    )
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def adapter_card(spec: CardSpec, metrics: dict):
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        base_model=spec.base_model,
        language=list(spec.languages),
        license=next(iter(spec.licenses.values())),  # the base model's: the adapter is a derivative of it
        library_name="peft",
        pipeline_tag="text-generation",
        tags=list(spec.tags),
        model_name=spec.title,
        croco={"rule": spec.rule, "provenance": spec.provenance},
    )
    summary = {
        "examples": metrics.get("examples"),
        "train examples": metrics.get("train_examples"),
        "held-out examples": metrics.get("eval_examples"),
        "global batch": metrics.get("global_batch_size"),
        "final train loss": (metrics.get("summary") or {}).get("train_loss"),
        "final held-out loss": (metrics.get("final_eval") or {}).get("eval_loss"),
    }
    body = (
        f"# {spec.title}\n\n"
        f"A LoRA adapter of `{spec.base_model}` from the CroCo workflow (arXiv 2605.26293), `{spec.name}`. Load it "
        "with PEFT:\n\n```python\nfrom peft import AutoPeftModelForCausalLM\n\n"
        'model = AutoPeftModelForCausalLM.from_pretrained("<this repository>")\n```\n\n'
        f"## Training\n\n{table(spec.rule)}\n\n## Outcome\n\n{table(summary)}\n\n"
        f"{licence_text(spec)}\n\n{provenance_text(spec)}\n"
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def checked(card, kind: str, spec: CardSpec) -> str:
    """The card's text, after huggingface_hub has read it back to the metadata it was given."""
    from huggingface_hub import DatasetCard, ModelCard

    text = str(card)
    loaded = (DatasetCard if kind == "dataset" else ModelCard)(text)
    expected = card.data.to_dict()
    if loaded.data.to_dict() != expected:
        raise UserError(f"the {kind} card of {spec.name} does not read back as it was written")
    if sorted(loaded.data.to_dict().get("language") or []) != sorted(spec.languages):
        raise UserError(f"the {kind} card of {spec.name} lost its languages")
    return text


def card_step(snakemake) -> None:
    spec = CardSpec.load(snakemake.params.spec)
    if spec.kind == "dataset":
        import pyarrow.parquet as pq

        stats = json.loads(Path(snakemake.input.stats).read_text())
        rows = pq.ParquetFile(snakemake.input.data).metadata.num_rows
        card = dataset_card(spec, stats, rows)
    else:
        metrics = json.loads((Path(snakemake.input.adapter) / "training_metrics.json").read_text())
        card = adapter_card(spec, metrics)
    text = checked(card, spec.kind, spec)
    with atomic_file(snakemake.output.card) as tmp:
        tmp.write_text(text)
    print(f"[croco] {spec.kind} card: {snakemake.output.card}")
