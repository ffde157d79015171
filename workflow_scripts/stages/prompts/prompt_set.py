"""Prompt sets per language, with prompt ids that are stable across languages.

The paper's code matched prompts across languages by their text; here every row carries the English
prompt's `prompt_id`, and every language must hold exactly the English ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_table, require_columns, require_non_empty_strings

PROMPT_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("category", pa.string()),
        ("prompt", pa.string()),
        ("reference", pa.string()),
        ("origin", pa.string()),
    ]
)


@dataclass(frozen=True)
class PromptSetSpec(Spec):
    prompt_file: str  # the source-language prompts
    prompt_sha256: str | None  # a user's file by content (a sampled source is an artifact)
    translation_sha256: str | None  # a provided translation by content
    limit: int | None
    source_language: str
    language: str
    origin: str  # source | provided:<file> | translated:<translator>
    software: dict  # versions of the packages that compute it
    code: str


def check_prompt_ids(table: pa.Table, path) -> None:
    ids = table.column("prompt_id")
    if ids.null_count:
        raise UserError(f"{ids.null_count} row(s) without a prompt_id", file=str(path), field="prompt_id")
    counts = pc.value_counts(ids)
    dupes = [d["values"] for d in counts.to_pylist() if d["counts"] > 1]
    if dupes:
        raise UserError(f"duplicate prompt ids: {', '.join(map(str, dupes[:10]))}", file=str(path), field="prompt_id")


def load_source_prompts(path, language: str, limit: int | None = None) -> pa.Table:
    table = read_table(path)
    if table.num_rows == 0:
        raise UserError(
            "the prompt file is empty: it needs one JSON object per line with prompt_id, prompt and reference",
            file=str(path),
            field="prompts.file",
        )
    if "prompt_id" in table.column_names and pa.types.is_integer(table.schema.field("prompt_id").type):
        table = table.set_column(table.column_names.index("prompt_id"), "prompt_id", table.column("prompt_id").cast(pa.string()))
    require_columns(table, path, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    check_prompt_ids(table, path)
    if limit is not None:
        table = table.slice(0, limit)
    require_non_empty_strings(table, path, "prompt")
    require_non_empty_strings(table, path, "reference")
    category = (
        table.column("category").cast(pa.string()) if "category" in table.column_names else pa.nulls(table.num_rows, pa.string())
    )
    return pa.table(
        {
            "prompt_id": table.column("prompt_id"),
            "language": pa.array([language] * table.num_rows, pa.string()),
            "category": category,
            "prompt": table.column("prompt"),
            "reference": table.column("reference"),
            "origin": pa.array(["source"] * table.num_rows, pa.string()),
        },
        schema=PROMPT_SCHEMA,
    )


def align_translation(
    source: pa.Table,
    translation: pa.Table,
    path,
    language: str,
    origin: str,
    dropped: set[str] = frozenset(),
    source_ids: set[str] | None = None,
) -> pa.Table:
    """Return the translation in the source's order, checking it covers every source prompt id but the
    `dropped` ones (conversations the translation step dropped and counted), which the language goes without, and
    holds no id the source lacks (`source_ids`: every id of the source file, before prompts.limit)."""
    if translation.num_rows == 0:
        raise UserError("the translation file is empty", file=str(path), field=f"prompts.translations.{language}")
    require_columns(translation, path, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    check_prompt_ids(translation, path)
    ids = translation.column("prompt_id").to_pylist()
    unknown = [
        pid for pid in ids if pid not in (set(source.column("prompt_id").to_pylist()) if source_ids is None else source_ids)
    ]
    if unknown:
        raise UserError(
            f"{len(unknown)} prompt id(s) the source does not have: {', '.join(map(str, unknown[:10]))} (every language "
            "holds exactly the source's ids)",
            file=str(path),
            field="prompt_id",
        )
    index = {pid: i for i, pid in enumerate(ids)}
    if dropped:
        source = source.filter(pc.invert(pc.is_in(source.column("prompt_id"), value_set=pa.array(sorted(dropped), pa.string()))))
    source_ids = source.column("prompt_id").to_pylist()
    missing = [pid for pid in source_ids if pid not in index]
    if missing:
        raise UserError(
            f"language '{language}' lacks {len(missing)} prompt(s) the source has: {', '.join(missing[:10])}",
            file=str(path),
            field="prompt_id",
        )
    rows = translation.take(pa.array([index[pid] for pid in source_ids], pa.int64()))
    require_non_empty_strings(rows, path, "prompt")
    require_non_empty_strings(rows, path, "reference")
    return pa.table(
        {
            "prompt_id": source.column("prompt_id"),
            "language": pa.array([language] * source.num_rows, pa.string()),
            "category": source.column("category"),
            "prompt": rows.column("prompt"),
            "reference": rows.column("reference"),
            "origin": pa.array([origin] * source.num_rows, pa.string()),
        },
        schema=PROMPT_SCHEMA,
    )


def prompt_set_step(snakemake) -> None:
    from workflow_scripts.runtime.atomic import write_parquet

    spec = PromptSetSpec.load(snakemake.params.spec)
    source = load_source_prompts(spec.prompt_file, spec.source_language, spec.limit)
    if spec.language == spec.source_language:
        table = source
    else:
        path = snakemake.input.translation
        dropped = set()
        if snakemake.input.get("translation_stats"):
            stats = json.loads(Path(snakemake.input.translation_stats).read_text())
            dropped = {d["prompt_id"] for d in stats["dropped_conversations"]}
        # the whole source's ids, prompts.limit aside: a translation may cover more of the source than is used
        source_ids = set(map(str, read_table(spec.prompt_file, ["prompt_id"]).column("prompt_id").to_pylist()))
        table = align_translation(source, read_table(path), path, spec.language, spec.origin, dropped, source_ids)
    write_parquet(table, snakemake.output[0])
    gone = source.num_rows - table.num_rows
    print(
        f"[croco] {table.num_rows} prompts in {spec.language} ({spec.origin})"
        + (f"; {gone} dropped by the translation (too long)" if gone else "")
    )
