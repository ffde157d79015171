"""Reward scoring of every sample, keyed by (prompt_id, language, sample_index).

Backends:
- `sequence_classifier`: a reward model with a sequence-classification head (Skywork-Reward-V2 style)
  through vLLM pooling; the raw score, no activation.
- `generative`: an instruct model answers a rubric question about the response; the reward is
  log p("Yes") - log p("No") for its first token. A weak but real signal, meant for the CPU demo.

A sample longer than the reward model's limit is recorded as skipped with its reason; it is never
given a sentinel score.
"""
from __future__ import annotations

import math
import time

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.atomic import atomic_file
from workflow_scripts.errors import UserError
from workflow_scripts.tables import require_columns

SCORE_SCHEMA = pa.schema([
    ("prompt_id", pa.string()),
    ("language", pa.string()),
    ("sample_index", pa.int32()),
    ("reward", pa.float64()),
    ("status", pa.string()),          # scored | skipped
    ("skip_reason", pa.string()),
    ("reward_tokens", pa.int32()),
    ("reward_model", pa.string()),
    ("reward_backend", pa.string()),
])

ROWS_PER_BATCH = 4096


class GenerativeScorer:
    def __init__(self, llm, rubric: str, chat_template_kwargs: dict):
        from vllm import SamplingParams

        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.rubric = rubric
        self.kwargs = chat_template_kwargs
        self.yes = self._single_token("Yes")
        self.no = self._single_token("No")
        self.params = SamplingParams(max_tokens=1, logprobs=2, allowed_token_ids=[self.yes, self.no], temperature=0.0)

    def _single_token(self, word: str) -> int:
        ids = self.tokenizer.encode(word, add_special_tokens=False)
        if len(ids) != 1:
            raise UserError(f"the reward model's tokenizer splits '{word}' into {len(ids)} tokens", field="reward.backend")
        return ids[0]

    def render(self, prompt: str, response: str) -> str:
        from workflow_scripts.vllm_engine import chat_prompt

        content = self.rubric.format(prompt=prompt, response=response)
        return chat_prompt(self.tokenizer, [{"role": "user", "content": content}], self.kwargs)

    def score(self, rendered: list[str]) -> list[float]:
        outputs = self.llm.generate(rendered, self.params, use_tqdm=True)
        scores = []
        for out in outputs:
            top = out.outputs[0].logprobs[0]
            yes, no = top.get(self.yes), top.get(self.no)
            scores.append((yes.logprob - no.logprob) if yes is not None and no is not None else math.nan)
        return scores


class ClassifierScorer:
    def __init__(self, llm, chat_template_kwargs: dict):
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.kwargs = chat_template_kwargs

    def render(self, prompt: str, response: str) -> str:
        conversation = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        return self.tokenizer.apply_chat_template(conversation, tokenize=False, **self.kwargs)

    def score(self, rendered: list[str]) -> list[float]:
        outputs = self.llm.classify(rendered, use_tqdm=True)
        return [float(out.outputs.probs[0]) for out in outputs]


def make_scorer(spec: dict):
    from vllm.config import PoolerConfig

    from workflow_scripts.vllm_engine import make_llm

    if spec["backend"] == "generative":
        llm = make_llm(spec["engine"], spec["model"], spec["revision"], logprobs_mode="processed_logprobs")
        return GenerativeScorer(llm, spec["rubric"], spec["chat_template_kwargs"])
    llm = make_llm(spec["engine"], spec["model"], spec["revision"], runner="pooling",
                   pooler_config=PoolerConfig(use_activation=False))
    return ClassifierScorer(llm, spec["chat_template_kwargs"])


def score_step(snakemake) -> None:
    spec = snakemake.params.spec
    path = snakemake.input.generations
    parquet = pq.ParquetFile(path)
    require_columns(parquet.schema_arrow.empty_table(), path,
                    {"prompt_id": "string", "language": "string", "sample_index": "integer", "prompt": "string", "response": "string"})
    scorer = make_scorer(spec)
    limit = min(spec["max_length"], spec["engine"]["max_model_len"] - 1)
    total, done, skipped, started = parquet.metadata.num_rows, 0, 0, time.time()
    with atomic_file(snakemake.output[0]) as tmp, pq.ParquetWriter(tmp, SCORE_SCHEMA) as writer:
        for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH, columns=["prompt_id", "language", "sample_index", "prompt", "response"]):
            cols = batch.to_pydict()
            rendered = [scorer.render(p, r) for p, r in zip(cols["prompt"], cols["response"])]
            lengths = [len(ids) for ids in scorer.tokenizer(rendered, add_special_tokens=False)["input_ids"]]
            keep = [i for i, n in enumerate(lengths) if n <= limit]
            scores = dict(zip(keep, scorer.score([rendered[i] for i in keep]))) if keep else {}
            n = len(rendered)
            reward, status, reason = [], [], []
            for i in range(n):
                if i in scores:
                    reward.append(scores[i]); status.append("scored"); reason.append(None)
                else:
                    reward.append(None); status.append("skipped")
                    reason.append(f"too long for the reward model: {lengths[i]} > {limit} tokens")
            skipped += n - len(keep)
            writer.write_table(pa.table({
                "prompt_id": cols["prompt_id"], "language": cols["language"], "sample_index": cols["sample_index"],
                "reward": reward, "status": status, "skip_reason": reason, "reward_tokens": lengths,
                "reward_model": [spec["reward_model"]] * n, "reward_backend": [spec["backend"]] * n,
            }, schema=SCORE_SCHEMA))
            done += n
            print(f"[croco] scored {done}/{total} samples ({skipped} skipped, {done / max(time.time() - started, 1e-9):.1f}/s)", flush=True)
