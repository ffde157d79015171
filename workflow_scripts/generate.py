"""On-policy sampling: n responses per prompt with vLLM, one Parquet row per sample.

Every sample gets its own seed, derived from (seed, prompt id, language, sample index), so a sample is
the same whether it was generated in one run or in a resumed one, whatever the batching.

A killed job resumes: every chunk of prompts is checkpointed as its own Parquet file (written atomically)
in `<output>.parts/`, tagged with a digest of everything that determines the samples. A rerun keeps the
chunks with a matching digest, generates the rest, and assembles the output from the chunks, so no sample
is lost or duplicated; the checkpoints are removed once the output is complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.atomic import atomic_file
from workflow_scripts.errors import UserError
from workflow_scripts.languages import language_name
from workflow_scripts.tables import read_table, require_columns

GENERATION_SCHEMA = pa.schema([
    ("prompt_id", pa.string()),
    ("language", pa.string()),
    ("sample_index", pa.int32()),
    ("prompt", pa.string()),
    ("response", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("response_tokens", pa.int32()),
    ("finish_reason", pa.string()),
    ("generator", pa.string()),
    ("generator_identity", pa.string()),
    ("temperature", pa.float64()),
    ("top_p", pa.float64()),
    ("max_tokens", pa.int32()),
    ("seed", pa.int64()),
])

# Prompts per vLLM call and per checkpoint: bounds memory at paper scale (20K prompts x 64 samples), gives
# progress, and is what a killed job loses at most. It does not change the samples.
PROMPTS_PER_CHUNK = int(os.environ.get("CROCO_PROMPTS_PER_CHUNK", 256))


def checkpoint_dir(output, spec: dict, ids: list[str]) -> Path:
    """`<output>.parts/`, emptied unless its checkpoints were made for the same samples."""
    parts = Path(f"{output}.parts")
    key = hashlib.sha256(json.dumps([spec, ids], sort_keys=True, default=str).encode()).hexdigest()
    tag = parts / "samples.sha256"
    if parts.exists() and (not tag.is_file() or tag.read_text() != key):
        shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if not tag.is_file():
        with atomic_file(tag) as tmp:
            tmp.write_text(key)
    return parts


def sample_seed(seed: int, prompt_id: str, language: str, sample_index: int) -> int:
    key = f"{seed}\0{prompt_id}\0{language}\0{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little") & 0x7FFFFFFF


def user_turn(prompt: str, language: str, instruction: str | None) -> str:
    if not instruction:
        return prompt
    return f"{prompt}\n\n{instruction.format(language=language_name(language))}"


def too_long_prompts(tokenizer, ids, rendered, limit: int) -> list[tuple[str, int]]:
    """Prompts whose chat-formatted length leaves no room to generate within the engine's context."""
    lengths = (len(t) for t in tokenizer(rendered, add_special_tokens=False)["input_ids"])
    return [(pid, n) for pid, n in zip(ids, lengths) if n >= limit]


def generate_step(snakemake) -> None:
    from vllm import SamplingParams

    from workflow_scripts.vllm_engine import chat_prompt, make_llm

    spec = snakemake.params.spec
    prompts_path = snakemake.input.prompts
    prompts = read_table(prompts_path)
    require_columns(prompts, prompts_path, {"prompt_id": "string", "prompt": "string", "language": "string"})
    if prompts.num_rows == 0:
        raise UserError("no prompts", file=str(prompts_path))
    language = spec["language"]
    llm = make_llm(spec["engine"], spec["model"], spec["revision"])
    tokenizer = llm.get_tokenizer()
    if tokenizer.chat_template is None:
        raise UserError(f"model {spec['model']} has no chat template", field=f"models.{spec['generator']}")
    n = spec["samples"]
    ids = prompts.column("prompt_id").to_pylist()
    texts = [user_turn(p, language, spec["language_instruction"]) for p in prompts.column("prompt").to_pylist()]
    rendered = [chat_prompt(tokenizer, [{"role": "user", "content": t}], spec["chat_template_kwargs"]) for t in texts]
    too_long = too_long_prompts(tokenizer, ids, rendered, spec["engine"]["max_model_len"])
    if too_long:
        raise UserError(
            f"{len(too_long)} prompt(s) do not fit engine.max_model_len={spec['engine']['max_model_len']} tokens: "
            + ", ".join(f"{pid} ({length} tokens)" for pid, length in too_long[:10]),
            file=str(prompts_path), field="prompt",
        )
    started = time.time()
    parts = checkpoint_dir(snakemake.output[0], spec, ids)
    starts = list(range(0, len(ids), PROMPTS_PER_CHUNK))
    chunk_files = [parts / f"chunk-{start:09d}.parquet" for start in starts]
    resumed = sum(f.is_file() for f in chunk_files)
    if resumed:
        print(f"[croco] resuming: {resumed} of {len(starts)} chunks already generated in {parts}", flush=True)
    done = 0
    for start, chunk_file in zip(starts, chunk_files):
        chunk = slice(start, start + PROMPTS_PER_CHUNK)
        chunk_ids = ids[chunk]
        done += len(chunk_ids)
        if chunk_file.is_file():
            continue
        requests, params, keys = [], [], []
        for pid, text, chat in zip(chunk_ids, texts[chunk], rendered[chunk]):
            for i in range(n):
                seed = sample_seed(spec["seed"], pid, language, i)
                requests.append(chat)
                params.append(SamplingParams(
                    n=1, temperature=spec["temperature"], top_p=spec["top_p"],
                    max_tokens=spec["max_tokens"], seed=seed,
                ))
                keys.append((pid, text, i, seed))
        outputs = llm.generate(requests, params, use_tqdm=True)
        rows = {name: [] for name in GENERATION_SCHEMA.names}
        for (pid, text, i, seed), out in zip(keys, outputs):
            completion = out.outputs[0]
            rows["prompt_id"].append(pid)
            rows["language"].append(language)
            rows["sample_index"].append(i)
            rows["prompt"].append(text)
            rows["response"].append(completion.text)
            rows["prompt_tokens"].append(len(out.prompt_token_ids))
            rows["response_tokens"].append(len(completion.token_ids))
            rows["finish_reason"].append(str(completion.finish_reason))
            rows["seed"].append(seed)
        m = len(keys)
        rows["generator"] = [spec["generator"]] * m
        rows["generator_identity"] = [spec["identity"]] * m
        rows["temperature"] = [float(spec["temperature"])] * m
        rows["top_p"] = [float(spec["top_p"])] * m
        rows["max_tokens"] = [spec["max_tokens"]] * m
        with atomic_file(chunk_file) as tmp:
            pq.write_table(pa.table(rows, schema=GENERATION_SCHEMA), tmp)
        rate = done * n / max(time.time() - started, 1e-9)
        print(f"[croco] {done}/{len(ids)} prompts x {n} samples ({rate:.1f} samples/s)", flush=True)
    # Assemble chunk by chunk (one row group each): memory stays bounded by a chunk.
    with atomic_file(snakemake.output[0]) as tmp, pq.ParquetWriter(tmp, GENERATION_SCHEMA) as writer:
        for chunk_file in chunk_files:
            writer.write_table(pq.read_table(chunk_file, schema=GENERATION_SCHEMA))
    shutil.rmtree(parts)
