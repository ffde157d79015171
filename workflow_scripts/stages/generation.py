"""On-policy sampling: n responses per prompt with vLLM, one Parquet row per sample.

Every sample gets its own seed, derived from (seed, prompt id, language, sample index), so a sample is
the same whether it was generated in one run or in a resumed one, whatever the batching.

One job generates one shard of a language's prompts (`generation.shards`); `gather_generations` joins
the shards (runtime/scatter.py). Inside a job, prompts are done in checkpointed chunks, so a killed job resumes without losing
or duplicating a sample, and the chunks can be spread over data-parallel engines (see runtime/chunks.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from workflow_scripts.errors import UserError
from workflow_scripts.languages import language_name
from workflow_scripts.runtime.chunks import chunk_count, run_chunked
from workflow_scripts.runtime.scatter import GatherSpec, gather_step, job_shard
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns, read_table, require_columns

GENERATION_SCHEMA = pa.schema(
    [
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
    ]
)


@dataclass(frozen=True)
class GenerationSpec(Spec):
    """What determines a language's samples (the shard a job does is a separate parameter)."""

    model: ModelRef
    generator: str
    language: str
    samples: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    language_instruction: str | None  # None: the prompt alone, as the authors sampled
    engine: dict
    software: dict  # versions of the packages that compute it
    code: str


def sample_seed(seed: int, prompt_id: str, language: str, sample_index: int) -> int:
    key = f"{seed}\0{prompt_id}\0{language}\0{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little") & 0x7FFFFFFF


def user_turn(prompt: str, language: str, instruction: str | None) -> str:
    if not instruction:
        return prompt
    return f"{prompt}\n\n{instruction.format(language=language_name(language))}"


@dataclass
class GenerationWork:
    """The samples of one shard of prompts, in chunks of `prompts_per_chunk` prompts (see runtime/chunks.py)."""

    spec: GenerationSpec
    ids: list[str]
    texts: list[str]
    prompts: list[dict]  # vLLM token prompts of the chat-rendered texts
    prompts_per_chunk: int
    schema = GENERATION_SCHEMA
    label = "generation"

    def chunk_count(self) -> int:
        return chunk_count(len(self.ids), self.prompts_per_chunk)

    def make_engine(self):
        from workflow_scripts.runtime.engines import make_llm

        return make_llm(self.spec.engine, self.spec.model.location, self.spec.model.revision)

    def run_chunk(self, llm, index: int) -> pa.Table:
        from vllm import SamplingParams

        spec, n, language = self.spec, self.spec.samples, self.spec.language
        chunk = slice(index * self.prompts_per_chunk, (index + 1) * self.prompts_per_chunk)
        requests, params, keys = [], [], []
        for pid, text, prompt in zip(self.ids[chunk], self.texts[chunk], self.prompts[chunk]):
            for i in range(n):
                seed = sample_seed(spec.seed, pid, language, i)
                requests.append(prompt)
                params.append(
                    SamplingParams(n=1, temperature=spec.temperature, top_p=spec.top_p, max_tokens=spec.max_tokens, seed=seed)
                )
                keys.append((pid, text, i, seed))
        outputs = llm.generate(requests, params, use_tqdm=True)
        rows = {name: [] for name in GENERATION_SCHEMA.names}
        for (pid, text, i, seed), out in zip(keys, outputs):
            completion = out.outputs[0]
            rows["prompt_id"].append(pid)
            rows["prompt"].append(text)
            rows["sample_index"].append(i)
            rows["seed"].append(seed)
            rows["response"].append(completion.text)
            rows["prompt_tokens"].append(len(out.prompt_token_ids))
            rows["response_tokens"].append(len(completion.token_ids))
            rows["finish_reason"].append(str(completion.finish_reason))
        m = len(keys)
        rows.update(
            language=[language] * m,
            generator=[spec.generator] * m,
            generator_identity=[spec.model.identity] * m,
            temperature=[float(spec.temperature)] * m,
            top_p=[float(spec.top_p)] * m,
            max_tokens=[spec.max_tokens] * m,
        )
        return pa.table(rows, schema=GENERATION_SCHEMA)


def generate_step(snakemake) -> None:
    from transformers import AutoTokenizer

    from workflow_scripts.runtime.engines import context_length, require_prompts_fit, user_turn_prompts
    from workflow_scripts.runtime.models import loading_model

    spec = GenerationSpec.load(snakemake.params.spec)
    model = spec.model
    prompts_path = snakemake.input.prompts
    prompts = read_table(prompts_path)
    require_columns(prompts, prompts_path, {"prompt_id": "string", "prompt": "string", "language": "string"})
    if prompts.num_rows == 0:
        raise UserError("no prompts", file=str(prompts_path))
    start, stop = job_shard(snakemake, prompts.num_rows, "prompts")
    prompts = prompts.slice(start, stop - start)
    with loading_model(model.location, model.revision):
        tokenizer = AutoTokenizer.from_pretrained(model.location, revision=model.revision)
    if tokenizer.chat_template is None:
        raise UserError(f"model {model.location} has no chat template", field=f"models.{spec.generator}")
    ids = prompts.column("prompt_id").to_pylist()
    texts = [user_turn(p, spec.language, spec.language_instruction) for p in prompts.column("prompt").to_pylist()]
    engine_prompts = user_turn_prompts(tokenizer, texts, model.chat_template_kwargs)
    require_prompts_fit(
        ids, engine_prompts, context_length(spec.engine, model.location, model.revision), file=prompts_path, field="prompt"
    )
    # Execution settings come as resources: they change how the work is split, not what it computes.
    work = GenerationWork(spec, ids, texts, engine_prompts, snakemake.resources.prompts_per_chunk)
    # The checkpoints hold for the same samples of the same rendered prompts; not for other chunk sizes.
    tokens = "\0".join(" ".join(map(str, p["prompt_token_ids"])) for p in engine_prompts)
    key = [spec.params(), ids, hashlib.sha256(tokens.encode()).hexdigest(), work.prompts_per_chunk]
    run_chunked(work, snakemake.output[0], key, {**spec.engine, "data_parallel_size": snakemake.resources.engines})


def expected_generation_keys(prompts_path, language: str, samples: int) -> pa.Table:
    """The keys of a language's samples: n of every prompt, in the prompts' order."""
    ids = read_parquet_columns(prompts_path, {"prompt_id": "string"}).column("prompt_id").combine_chunks()
    rows = len(ids) * samples
    return pa.table(
        {
            "prompt_id": ids.take(pa.array(np.repeat(np.arange(len(ids)), samples))),
            "language": pa.array(np.full(rows, language, dtype=object), pa.string()),
            "sample_index": pa.array(np.tile(np.arange(samples, dtype=np.int32), len(ids))),
        }
    )


def gather_generations_step(snakemake) -> None:
    """Join a language's generation shards, checking for exactly n samples of every prompt, in order."""
    spec = GenerationSpec.load(GatherSpec.load(snakemake.params.spec).shards)
    expected = expected_generation_keys(snakemake.input.prompts, spec.language, spec.samples)
    gather_step(snakemake, GENERATION_SCHEMA, expected, "samples")
