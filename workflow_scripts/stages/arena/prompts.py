"""m-ArenaHard prompts per language: `CohereLabs/m-ArenaHard-v2.0` from the Hub (one config per language) or a
local file per language (JSONL/Parquet/CSV with prompt_id or question_id, prompt, and optional
category/subcategory)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import write_parquet
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_table, require_columns, require_non_empty_strings
from workflow_scripts.stages.prompts.prompt_set import check_prompt_ids

ARENA_PROMPT_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("prompt", pa.string()),
    ]
)


@dataclass(frozen=True)
class ArenaPromptsSpec(Spec):
    language: str
    file: str | None  # a local prompt file for this language, used instead of the Hub
    file_sha256: str | None
    hub: str | None
    split: str
    revision: str | None
    limit: int | None
    software: dict  # versions of the packages that compute it
    code: str


def normalize_arena_prompts(table: pa.Table, path, language: str) -> pa.Table:
    if table.num_rows == 0:
        raise UserError("the m-ArenaHard prompt file is empty", file=str(path))
    if "prompt_id" not in table.column_names and "question_id" in table.column_names:
        table = table.rename_columns(["prompt_id" if c == "question_id" else c for c in table.column_names])
    if "prompt_id" in table.column_names and not pa.types.is_string(table.schema.field("prompt_id").type):
        table = table.set_column(table.column_names.index("prompt_id"), "prompt_id", table.column("prompt_id").cast(pa.string()))
    require_columns(table, path, {"prompt_id": "string", "prompt": "string"})
    require_non_empty_strings(table, path, "prompt")
    check_prompt_ids(table, path)

    def text_column(*names):
        for name in names:
            if name in table.column_names:
                return table.column(name).cast(pa.string())
        return pa.nulls(table.num_rows, pa.string())

    return pa.table(
        {
            "prompt_id": table.column("prompt_id"),
            "language": pa.array([language] * table.num_rows, pa.string()),
            "category": text_column("category"),
            "subcategory": text_column("subcategory", "cluster"),
            "prompt": table.column("prompt"),
        },
        schema=ARENA_PROMPT_SCHEMA,
    )


def load_arena_prompts(spec: ArenaPromptsSpec, language: str) -> pa.Table:
    if spec.file:
        return normalize_arena_prompts(read_table(spec.file), spec.file, language)
    from datasets import load_dataset

    try:
        dataset = load_dataset(spec.hub, language, split=spec.split, revision=spec.revision)
    except Exception as exc:  # the Hub or its cache is the only source here: say which and why
        raise UserError(
            f"cannot load {spec.hub} ({language}, split {spec.split}) from the Hugging Face Hub: {exc}",
            field=f"evaluation.arena.prompts.{language}",
        ) from None
    return normalize_arena_prompts(dataset.data.table, f"hf://{spec.hub}/{language}", language)


def arena_prompts_step(snakemake) -> None:
    spec = ArenaPromptsSpec.load(snakemake.params.spec)
    table = load_arena_prompts(spec, spec.language)
    if spec.limit:
        table = table.slice(0, spec.limit)
    write_parquet(table, snakemake.output[0])
    print(f"[croco] {table.num_rows} m-ArenaHard prompts in {spec.language}")
