"""m-ArenaHard answers of one subject (a model, or an adapter as a vLLM LoRA request on its base model: no merged
copy) in every language it is compared in, one engine for all of them."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.runtime.atomic import write_parquet
from workflow_scripts.runtime.spec import ModelRef, Spec

# vLLM accepts only some ranks as max_lora_rank: the smallest one that holds the adapters' rank is used.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class AnswersSpec(Spec):
    model: ModelRef  # the subject's base model (an adapter answers as a LoRA request on it)
    subject: str
    languages: list  # one engine answers them all, one language (one batch) at a time
    max_lora_rank: int
    engine: dict
    max_tokens: int
    temperature: float
    seed: int
    software: dict  # versions of the packages that compute it
    code: str


ANSWER_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("prompt", pa.string()),
        ("answer", pa.string()),
        ("answer_tokens", pa.int32()),
        ("finish_reason", pa.string()),
        ("subject", pa.string()),
    ]
)


def answers_step(snakemake) -> None:
    """Greedy (or configured) answers of one model, optionally through a LoRA adapter, to every language's
    prompts: one engine, one batch per language (so a language's answers do not depend on the others)."""
    from workflow_scripts.runtime.models import require_adapter_dir

    spec = AnswersSpec.load(snakemake.params.spec)
    model = spec.model
    adapter = snakemake.input.get("adapter") or None
    if adapter is not None and not isinstance(adapter, str):
        adapter = adapter[0] if len(adapter) else None
    extra = {}
    if adapter:
        require_adapter_dir(adapter)  # before vLLM is imported and its engine starts
        extra = {"enable_lora": True, "max_lora_rank": spec.max_lora_rank, "max_loras": 1}
    from vllm import SamplingParams

    from workflow_scripts.runtime.engines import context_length, make_llm

    prompt_tables = [pq.read_table(path) for path in snakemake.input.prompts]  # all read before the engine starts
    llm = make_llm(spec.engine, model.location, model.revision, **extra)
    params = SamplingParams(max_tokens=spec.max_tokens, temperature=spec.temperature, seed=spec.seed)
    lora = None
    if adapter:
        from vllm.lora.request import LoRARequest

        lora = LoRARequest("adapter", 1, str(adapter))
    context = context_length(spec.engine, model.location, model.revision)
    for lang, path, prompts, output in zip(spec.languages, snakemake.input.prompts, prompt_tables, snakemake.output):
        started = time.time()
        table = answer_prompts(llm, prompts, params, lora, spec, context, path)
        write_parquet(table, output)
        print(f"[croco] {table.num_rows} answers from {spec.subject} in {lang} in {time.time() - started:.1f} s", flush=True)


def answer_prompts(llm, prompts: pa.Table, params, lora, spec: AnswersSpec, context: int, path: str) -> pa.Table:
    from workflow_scripts.runtime.engines import require_prompts_fit, user_turn_prompts

    engine_prompts = user_turn_prompts(llm.get_tokenizer(), prompts.column("prompt").to_pylist(), spec.model.chat_template_kwargs)
    require_prompts_fit(prompts.column("prompt_id").to_pylist(), engine_prompts, context, file=path, field="prompt")
    outputs = llm.generate(engine_prompts, params, lora_request=lora, use_tqdm=True)
    return pa.table(
        {
            "prompt_id": prompts.column("prompt_id"),
            "language": prompts.column("language"),
            "category": prompts.column("category"),
            "subcategory": prompts.column("subcategory"),
            "prompt": prompts.column("prompt"),
            "answer": [o.outputs[0].text for o in outputs],
            "answer_tokens": [len(o.outputs[0].token_ids) for o in outputs],
            "finish_reason": [str(o.outputs[0].finish_reason) for o in outputs],
            "subject": [spec.subject] * prompts.num_rows,
        },
        schema=ANSWER_SCHEMA,
    )
