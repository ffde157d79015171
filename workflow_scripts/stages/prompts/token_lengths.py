"""Token lengths of a language's prompt set under a policy's tokenizer (the paper's Figure 3): the prompt
and its reference answer, as plain text (no chat template), one row per prompt."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns

BATCH = 1024


@dataclass(frozen=True)
class TokenLengthsSpec(Spec):
    model: ModelRef
    tokenizer: str  # the model's name
    language: str
    software: dict  # versions of the packages that compute it
    code: str


def token_lengths_step(snakemake) -> None:
    from transformers import AutoTokenizer

    from workflow_scripts.runtime.atomic import write_parquet
    from workflow_scripts.runtime.models import loading_model

    spec = TokenLengthsSpec.load(snakemake.params.spec)
    prompts = read_parquet_columns(snakemake.input.prompts, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    with loading_model(spec.model.location, spec.model.revision):
        tokenizer = AutoTokenizer.from_pretrained(spec.model.location, revision=spec.model.revision)
    lengths = {"prompt": [], "reference": []}
    for column in lengths:
        texts = prompts.column(column).to_pylist()
        for start in range(0, len(texts), BATCH):
            ids = tokenizer(texts[start : start + BATCH], add_special_tokens=False)["input_ids"]
            lengths[column] += [len(x) for x in ids]
    n = prompts.num_rows
    write_parquet(
        pa.table(
            {
                "prompt_id": prompts.column("prompt_id"),
                "language": pa.array([spec.language] * n, pa.string()),
                "tokenizer": pa.array([spec.tokenizer] * n, pa.string()),
                "prompt_tokens": pa.array(lengths["prompt"], pa.int32()),
                "reference_tokens": pa.array(lengths["reference"], pa.int32()),
            }
        ),
        snakemake.output[0],
    )
    if n:
        print(
            f"[croco] {spec.language}: {n} prompts, median {sorted(lengths['prompt'])[n // 2]} prompt and "
            f"{sorted(lengths['reference'])[n // 2]} reference tokens ({spec.tokenizer} tokenizer)",
            flush=True,
        )
