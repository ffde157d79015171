"""Machine translation of every turn (prompt and reference answer) with vLLM.

Formats: TranslateGemma's chat format (`<<<source>>>en<<<target>>>da<<<text>>>...` as the user turn), or a
plain instruction for any other instruct model.

A conversation with a turn whose translation prompt is longer than `translation.max_input_tokens` is dropped
whole and counted, as the authors' translation script did (8192 tokens); the stats file beside the
translation names every dropped id, and that language's prompt set goes without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from workflow_scripts.languages import language_name
from workflow_scripts.runtime.atomic import write_parquet
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_table, require_columns


@dataclass(frozen=True)
class TranslateSpec(Spec):
    model: ModelRef
    translator: str
    source_language: str
    language: str
    format: str  # auto | translategemma | instruction
    instruction: str
    max_tokens: int
    temperature: float
    max_input_tokens: int
    too_long: str  # drop | error
    engine: dict
    software: dict  # versions of the packages that compute it
    code: str


def resolve_format(fmt: str, model_id: str) -> str:
    if fmt != "auto":
        return fmt
    return "translategemma" if "translategemma" in model_id.lower() else "instruction"


def translation_turn(text: str, source: str, target: str, fmt: str, instruction: str) -> str:
    if fmt == "translategemma":
        return f"<<<source>>>{source}<<<target>>>{target}<<<text>>>{text}"
    return instruction.format(source=language_name(source), target=language_name(target), text=text)


def too_long_conversations(ids: list[str], lengths: dict[str, list[int]], limit: int) -> list[dict]:
    """The conversations with a turn whose translation prompt is longer than `limit` tokens, each with the
    turn and its length (the first too-long turn; a conversation is dropped whole, as the authors did)."""
    dropped = []
    for i, pid in enumerate(ids):
        for turn, turn_lengths in lengths.items():
            if turn_lengths[i] > limit:
                dropped.append({"prompt_id": pid, "turn": turn, "tokens": int(turn_lengths[i])})
                break
    return dropped


def translate_step(snakemake) -> None:
    from transformers import AutoTokenizer

    from workflow_scripts.errors import UserError
    from workflow_scripts.runtime.atomic import write_json
    from workflow_scripts.runtime.engines import context_length, make_llm, user_turn_prompts
    from workflow_scripts.runtime.models import loading_model

    spec = TranslateSpec.load(snakemake.params.spec)
    model = spec.model
    source = read_table(snakemake.input.prompts)
    require_columns(source, snakemake.input.prompts, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    fmt = resolve_format(spec.format, model.location)
    # the lengths are checked with the model's tokenizer before the engine starts (the engine uses the same one)
    with loading_model(model.location, model.revision):
        tokenizer = AutoTokenizer.from_pretrained(model.location, revision=model.revision)
    ids = source.column("prompt_id").to_pylist()
    turns = {"prompt": source.column("prompt").to_pylist(), "reference": source.column("reference").to_pylist()}
    requests = {
        turn: user_turn_prompts(
            tokenizer,
            [translation_turn(t, spec.source_language, spec.language, fmt, spec.instruction) for t in texts],
            model.chat_template_kwargs,
        )
        for turn, texts in turns.items()
    }
    # A turn must fit translation.max_input_tokens and leave the engine room for one output token.
    limit = min(spec.max_input_tokens, context_length(spec.engine, model.location, model.revision) - 1)
    dropped = too_long_conversations(
        ids, {turn: [len(p["prompt_token_ids"]) for p in prompts] for turn, prompts in requests.items()}, limit
    )
    if dropped and spec.too_long == "error":
        raise UserError(
            f"{len(dropped)} conversation(s) do not fit {limit} tokens for translation: "
            + ", ".join(f"{d['prompt_id']} ({d['turn']}, {d['tokens']} tokens)" for d in dropped[:10])
            + " (translation.too_long: drop drops and counts them instead)",
            file=str(snakemake.input.prompts),
            field="translation.max_input_tokens",
        )
    gone = {d["prompt_id"] for d in dropped}
    keep = [i for i, pid in enumerate(ids) if pid not in gone]
    n = len(keep)
    engine_prompts = [requests["prompt"][i] for i in keep] + [requests["reference"][i] for i in keep]
    outputs = []
    if engine_prompts:
        from vllm import SamplingParams

        llm = make_llm(spec.engine, model.location, model.revision)
        params = SamplingParams(temperature=spec.temperature, max_tokens=spec.max_tokens, seed=0)
        outputs = llm.generate(engine_prompts, params, use_tqdm=True)
    translated = [o.outputs[0].text.strip() for o in outputs]
    cut = [o.outputs[0].finish_reason == "length" for o in outputs]
    if any(cut):
        print(f"[croco] WARNING: {sum(cut)} translation(s) hit translation.max_tokens and are truncated", flush=True)
    write_parquet(
        pa.table(
            {
                "prompt_id": pa.array([ids[i] for i in keep], pa.string()),
                "prompt": pa.array(translated[:n], pa.string()),
                "reference": pa.array(translated[n:], pa.string()),
                "translator": pa.array([spec.translator] * n, pa.string()),
                "format": pa.array([fmt] * n, pa.string()),
                "truncated": pa.array([a or b for a, b in zip(cut[:n], cut[n:])], pa.bool_()),
            }
        ),
        snakemake.output.translation,
    )
    write_json(
        {
            "language": spec.language,
            "translator": spec.translator,
            "format": fmt,
            "conversations": len(ids),
            "translated": n,
            "dropped": len(dropped),
            "max_input_tokens": limit,
            "dropped_conversations": dropped,
            "truncated": int(sum(cut)),
        },
        snakemake.output.stats,
    )
    print(
        f"[croco] translated {n} of {len(ids)} conversations into {spec.language} ({fmt} format); "
        f"{len(dropped)} dropped: a turn longer than {limit} tokens",
        flush=True,
    )
