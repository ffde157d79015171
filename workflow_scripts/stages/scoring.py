"""Reward scoring of every sample, keyed by (prompt_id, language, sample_index).

Backends:
- `sequence_classifier`: a reward model with a sequence-classification head (Skywork-Reward-V2 style)
  through vLLM pooling; the raw score, no activation.
- `generative`: an instruct model answers a rubric question about the response; the reward is
  log p("Yes") - log p("No") for its first token. A weak but real signal, meant for the CPU demo.

A sample longer than the reward model's limit, or with an empty response, is recorded as skipped with its
reason; it is never given a sentinel score, and the pair builders count it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflow_scripts.runtime.chunks import chunk_count, run_chunked
from workflow_scripts.runtime.engines import first_token_logprobs, single_token_id, token_prompts, user_turn_prompts
from workflow_scripts.runtime.fingerprint import file_sha256
from workflow_scripts.runtime.scatter import RowRangeReader, gather_step, job_shard
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns, require_columns, require_unique_keys

SCORE_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("sample_index", pa.int32()),
        ("reward", pa.float64()),
        ("status", pa.string()),  # scored | skipped
        ("skip_reason", pa.string()),
        ("reward_tokens", pa.int32()),
        ("reward_model", pa.string()),
        ("reward_backend", pa.string()),
    ]
)


@dataclass(frozen=True)
class ScoreSpec(Spec):
    """What determines the rewards of a generator's samples (the same for every language and shard)."""

    model: ModelRef
    reward_model: str
    backend: str  # sequence_classifier | generative
    rubric: str | None  # the generative backend's question
    max_length: int
    empty_responses: str  # skip | score
    engine: dict
    software: dict  # versions of the packages that compute it
    code: str


class GenerativeScorer:
    def __init__(self, llm, rubric: str, chat_template_kwargs: dict):
        from vllm import SamplingParams

        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.rubric = rubric
        self.kwargs = chat_template_kwargs
        self.ids = {word: single_token_id(self.tokenizer, word, field="reward.backend") for word in ("Yes", "No")}
        self.params = SamplingParams(max_tokens=1, logprobs=2, allowed_token_ids=list(self.ids.values()), temperature=0.0)

    def prompts(self, pairs: list[tuple[str, str]]) -> list[dict]:
        turns = [self.rubric.format(prompt=prompt, response=response) for prompt, response in pairs]
        return user_turn_prompts(self.tokenizer, turns, self.kwargs)

    def score(self, prompts: list[dict]) -> list[float]:
        scores = []
        for out in self.llm.generate(prompts, self.params, use_tqdm=True):
            got = first_token_logprobs(out, self.ids)
            scores.append(got["Yes"] - got["No"] if len(got) == 2 else math.nan)
        return scores


class ClassifierScorer:
    def __init__(self, llm, chat_template_kwargs: dict):
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.kwargs = chat_template_kwargs

    def prompts(self, pairs: list[tuple[str, str]]) -> list[dict]:

        conversations = [
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}] for prompt, response in pairs
        ]
        return token_prompts(
            self.tokenizer, [self.tokenizer.apply_chat_template(c, tokenize=False, **self.kwargs) for c in conversations]
        )

    def score(self, prompts: list[dict]) -> list[float]:
        outputs = self.llm.classify(prompts, use_tqdm=True)
        return [float(out.outputs.probs[0]) for out in outputs]


def make_scorer(spec: ScoreSpec):
    from vllm.config import PoolerConfig

    from workflow_scripts.runtime.engines import context_length, make_llm

    model = spec.model
    if spec.backend == "generative":
        llm = make_llm(spec.engine, model.location, model.revision, logprobs_mode="processed_logprobs")
        scorer = GenerativeScorer(llm, spec.rubric, model.chat_template_kwargs)
    else:
        llm = make_llm(
            spec.engine, model.location, model.revision, runner="pooling", pooler_config=PoolerConfig(use_activation=False)
        )
        scorer = ClassifierScorer(llm, model.chat_template_kwargs)
    scorer.context = context_length(spec.engine, model.location, model.revision)
    return scorer


def skip_reasons(responses: list[str | None], lengths: list[int], limit: int, score_empty: bool = False) -> list[str | None]:
    """Why each sample is not scored (None: it is). By default an empty response is never given a reward: a
    reward model would still rate it, and an empty text could then be chosen or rejected in a pair. The
    authors scored every sample that fit (`reward.empty_responses: score`)."""
    reasons = []
    for response, length in zip(responses, lengths):
        if response is None or (not response.strip() and not score_empty):
            reasons.append("empty response")
        elif length > limit:
            reasons.append(f"too long for the reward model: {length} > {limit} tokens")
        else:
            reasons.append(None)
    return reasons


@dataclass
class ScoringWork:
    """The samples [start, stop) of a generations table, in chunks of `samples_per_chunk` (see runtime/chunks.py)."""

    spec: ScoreSpec
    reader: RowRangeReader
    start: int
    stop: int
    samples_per_chunk: int
    schema = SCORE_SCHEMA
    label = "scoring"

    def chunk_count(self) -> int:
        return chunk_count(self.stop - self.start, self.samples_per_chunk)

    def make_engine(self):
        return make_scorer(self.spec)

    def run_chunk(self, scorer, index: int) -> pa.Table:
        lo = self.start + index * self.samples_per_chunk
        cols = self.reader.read(lo, min(lo + self.samples_per_chunk, self.stop)).to_pydict()
        columns = score_responses(self.spec, scorer, cols["prompt"], cols["response"])
        keys = {key: cols[key] for key in ("prompt_id", "language", "sample_index")}
        return pa.table({**keys, **columns}, schema=SCORE_SCHEMA)


def score_responses(spec: ScoreSpec, scorer, prompts: list[str], responses: list[str | None]) -> dict[str, list]:
    """The reward columns of SCORE_SCHEMA for (prompt, response) pairs: a reward, or a skip with its reason."""
    # a pooling model reads the whole context; the generative backend needs room for its one answer token
    room = 1 if spec.backend == "generative" else 0
    limit = min(spec.max_length, scorer.context - room)
    # Tokenized once: the lengths decide what is skipped, and the engine gets the same token ids.
    inputs = scorer.prompts(list(zip(prompts, responses)))
    lengths = [len(p["prompt_token_ids"]) for p in inputs]
    reason = skip_reasons(responses, lengths, limit, spec.empty_responses == "score")
    keep = [i for i, why in enumerate(reason) if why is None]
    scores = dict(zip(keep, scorer.score([inputs[i] for i in keep]))) if keep else {}
    n = len(inputs)
    return {
        "reward": [scores.get(i) for i in range(n)],
        "status": ["scored" if why is None else "skipped" for why in reason],
        "skip_reason": reason,
        "reward_tokens": lengths,
        "reward_model": [spec.reward_model] * n,
        "reward_backend": [spec.backend] * n,
    }


def score_step(snakemake) -> None:
    spec = ScoreSpec.load(snakemake.params.spec)
    path = snakemake.input.generations
    parquet = pq.ParquetFile(path)
    require_columns(
        parquet.schema_arrow.empty_table(),
        path,
        {"prompt_id": "string", "language": "string", "sample_index": "integer", "prompt": "string", "response": "string"},
    )
    # one score per sample: a duplicated sample would be scored twice and weigh twice in its pool
    require_unique_keys(
        pq.read_table(path, columns=["prompt_id", "language", "sample_index"]), path, ["prompt_id", "language", "sample_index"]
    )
    reader = RowRangeReader(path, ["prompt_id", "language", "sample_index", "prompt", "response"])
    start, stop = job_shard(snakemake, reader.num_rows, "samples")
    # Execution settings come as resources: they change how the work is split, not what it computes.
    work = ScoringWork(spec, reader, start, stop, snakemake.resources.samples_per_chunk)
    # Checkpoints hold for the same scorer on the same generations, in the same chunks.
    key = [spec.params(), file_sha256(path), start, stop, work.samples_per_chunk]
    run_chunked(work, snakemake.output[0], key, {**spec.engine, "data_parallel_size": snakemake.resources.engines})
    table = pq.read_table(snakemake.output[0], columns=["status"])
    skipped = pc.sum(pc.equal(table.column("status"), "skipped").cast(pa.int64())).as_py() or 0
    print(f"[croco] scored {table.num_rows - skipped} samples, {skipped} skipped (too long or empty)", flush=True)


def expected_score_keys(generations_path) -> pa.Table:
    """The keys of a language's samples, in the generations' order: one score (or skip) each."""
    return read_parquet_columns(generations_path, {"prompt_id": "string", "language": "string", "sample_index": "integer"})


def gather_scores_step(snakemake) -> None:
    """Join a language's scoring shards, checking for exactly one score (or skip) per generated sample, in order."""
    gather_step(snakemake, SCORE_SCHEMA, expected_score_keys(snakemake.input.generations), "scored or skipped samples")


# ---------------------------------------------------------------- the reward of the reference answers
# The reward-model consistency check (the paper's Appendix B): where a prompt's reference answer was translated
# with it, the same reward model scores the reference in every language, so that the report can set the reward
# of the English reference against the reward of its translation, and rank each reference among its prompt's
# samples.

REFERENCE_SCORE_SCHEMA = pa.schema(
    [("prompt_id", pa.string()), ("language", pa.string())] + [SCORE_SCHEMA.field(name) for name in SCORE_SCHEMA.names[3:]]
)


@dataclass(frozen=True)
class ReferenceScoreSpec(Spec):
    score: ScoreSpec
    code: str


def score_references_step(snakemake) -> None:
    from workflow_scripts.runtime.atomic import atomic_file

    spec = ReferenceScoreSpec.load(snakemake.params.spec).score
    path = snakemake.input.prompts
    table = read_parquet_columns(path, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    require_unique_keys(table, path, ["prompt_id"])
    scorer = make_scorer(spec)
    cols = table.to_pydict()
    columns = score_responses(spec, scorer, cols["prompt"], cols["reference"])
    keys = {"prompt_id": cols["prompt_id"], "language": [snakemake.wildcards.lang] * table.num_rows}
    with atomic_file(snakemake.output[0]) as tmp:
        pq.write_table(pa.table({**keys, **columns}, schema=REFERENCE_SCORE_SCHEMA), tmp)
    scored = columns["status"].count("scored")
    print(f"[croco] scored {scored} reference answers, {table.num_rows - scored} skipped (too long)", flush=True)
