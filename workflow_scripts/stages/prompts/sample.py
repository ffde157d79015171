"""The paper's prompt set: a seeded sample of an instruction-tuning corpus, stratified by domain.

The paper stratifies 20K instances of Dolci-Instruct-SFT (Section 3.1). The corpus comes from the Hugging Face
Hub (`allenai/Dolci-Instruct-SFT`, on a cluster) or a local JSONL/Parquet file of the same format: one row per
conversation with `id`, `messages` (a list of {role, content}) and the field to stratify by (`domain`; the
corpus also has `source_dataset`).

- Strata get proportional quotas (largest remainder; ties go to the stratum that comes first by name), so
  the sample's domain shares are the corpus's, rounded. Within a stratum, rows are drawn without replacement
  from a generator seeded with `seed`, one draw per stratum in sorted order: the same corpus and seed give
  the same sample.
- The prompt is the first user turn and the reference the first assistant turn after it; a conversation
  without both (or with an empty one) cannot serve and is counted as unusable, before sampling.
- Ids are the corpus's `id` (every language's prompt set keeps them), the category is the stratum.

Only the id and stratum columns of the whole corpus are read; the conversations of the sampled rows alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_table

NONE_STRATUM = "(none)"


@dataclass(frozen=True)
class SampleSpec(Spec):
    hub: str
    revision: str | None
    split: str
    file: str | None  # a local corpus, used instead of the Hub
    file_sha256: str | None  # a local corpus is identified by its content, a Hub one by id, revision, split
    size: int
    stratify_by: str
    seed: int
    software: dict  # versions of the packages that compute it
    code: str


def proportional_quotas(counts: dict[str, int], size: int) -> dict[str, int]:
    """Quotas per stratum summing to min(size, total), proportional to the counts (largest remainder)."""
    total = sum(counts.values())
    size = min(size, total)
    names = sorted(counts)
    exact = {name: size * counts[name] / total for name in names} if total else {}
    quotas = {name: int(np.floor(exact[name])) for name in names}
    left = size - sum(quotas.values())
    # the largest fractional parts get the remaining rows; ties by stratum name
    for name in sorted(names, key=lambda n: (-(exact[n] - quotas[n]), n))[:left]:
        quotas[name] += 1
    return quotas


def stratified_indices(strata: list[str], size: int, seed: int) -> tuple[np.ndarray, dict]:
    """Row indices of a proportional stratified sample, in corpus order, and per-stratum counts."""
    strata = np.asarray(strata, dtype=object)
    names, inverse = np.unique(strata, return_inverse=True)
    counts = {str(name): int((inverse == i).sum()) for i, name in enumerate(names)}
    quotas = proportional_quotas(counts, size)
    rng = np.random.default_rng(seed)
    picked = []
    for i, name in enumerate(names):
        rows = np.flatnonzero(inverse == i)
        picked.append(rng.choice(rows, size=quotas[str(name)], replace=False))
    chosen = np.sort(np.concatenate(picked)) if picked else np.array([], dtype=np.int64)
    return chosen, {name: {"population": counts[name], "sampled": quotas[name]} for name in counts}


def first_exchange(messages) -> tuple[str | None, str | None]:
    """(first user turn, first assistant turn after it) of a conversation, or None where missing/empty."""
    user = assistant = None
    for message in messages or []:
        role, content = message.get("role"), message.get("content")
        if user is None:
            if role == "user":
                user = content
        elif role == "assistant":
            assistant = content
            break

    def clean(text):
        return text if isinstance(text, str) and text.strip() else None

    return clean(user), clean(assistant)


def load_corpus(spec: SampleSpec) -> tuple[pa.Table, str]:
    """The corpus as an Arrow table (memory-mapped for a Hub dataset) and a name for error messages."""
    if spec.file:
        return read_table(spec.file), spec.file
    from datasets import load_dataset

    where = f"hf://{spec.hub} (split {spec.split})"
    try:
        dataset = load_dataset(spec.hub, split=spec.split, revision=spec.revision)
    except Exception as exc:  # the Hub or its cache is the only source here: say which and why
        raise UserError(f"cannot load {where} from the Hugging Face Hub: {exc}", field="prompts.sample.hub") from None
    return dataset.data.table, where


def sample_prompts(table: pa.Table, where: str, size: int, stratify_by: str, seed: int) -> tuple[pa.Table, dict]:
    for column in ("id", "messages", stratify_by):
        if column not in table.column_names:
            raise UserError(f"missing column (has: {', '.join(table.column_names)})", file=where, field=column)
    ids = table.column("id").cast(pa.string())
    if ids.null_count:
        raise UserError(f"{ids.null_count} conversation(s) without an id", file=where, field="id")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dupes = [d["values"] for d in counts.to_pylist() if d["counts"] > 1][:10]
        raise UserError(f"duplicate ids: {', '.join(dupes)}", file=where, field="id")
    # Usable conversations first (a user turn and an answer), then the sample among them.
    usable_mask = []
    exchanges = []
    for batch in table.select(["messages"]).to_batches(max_chunksize=65536):
        for messages in batch.column("messages").to_pylist():
            user, assistant = first_exchange(messages)
            usable_mask.append(user is not None and assistant is not None)
    usable = np.flatnonzero(np.asarray(usable_mask, dtype=bool))
    strata = table.column(stratify_by).cast(pa.string()).fill_null(NONE_STRATUM).take(pa.array(usable)).to_pylist()
    picked, per_stratum = stratified_indices(strata, size, seed)
    rows = table.take(pa.array(usable[picked], pa.int64())).select(["id", "messages", stratify_by])
    for messages in rows.column("messages").to_pylist():
        exchanges.append(first_exchange(messages))
    out = pa.table(
        {
            "prompt_id": rows.column("id").cast(pa.string()),
            "prompt": pa.array([u for u, _ in exchanges], pa.string()),
            "reference": pa.array([a for _, a in exchanges], pa.string()),
            "category": rows.column(stratify_by).cast(pa.string()).fill_null(NONE_STRATUM),
        }
    )
    stats = {
        "corpus": where,
        "corpus_rows": table.num_rows,
        "usable": int(len(usable)),
        "unusable": table.num_rows - int(len(usable)),
        "size": size,
        "sampled": out.num_rows,
        "stratify_by": stratify_by,
        "seed": seed,
        "strata": per_stratum,
    }
    return out, stats


def sample_prompts_step(snakemake) -> None:
    from workflow_scripts.runtime.atomic import write_json, write_parquet

    spec = SampleSpec.load(snakemake.params.spec)
    table, where = load_corpus(spec)
    out, stats = sample_prompts(table, where, spec.size, spec.stratify_by, spec.seed)
    if out.num_rows < spec.size:
        print(
            f"[croco] WARNING: the corpus has {stats['usable']} usable conversations, fewer than "
            f"prompts.sample.size={spec.size}: all are used",
            flush=True,
        )
    write_parquet(out, snakemake.output.prompts)
    write_json(stats, snakemake.output.stats)
    shares = ", ".join(f"{name} {v['sampled']}" for name, v in sorted(stats["strata"].items(), key=lambda kv: -kv[1]["sampled"]))
    print(
        f"[croco] sampled {out.num_rows} of {stats['usable']} usable conversations from {where}, "
        f"stratified by {spec.stratify_by}: {shares}",
        flush=True,
    )
