"""Machine translation of every turn (prompt and reference answer) with vLLM.

Formats: TranslateGemma's chat format (`<<<source>>>en<<<target>>>da<<<text>>>...` as the user turn), or a
plain instruction for any other instruct model.
"""
from __future__ import annotations

import pyarrow as pa

from workflow_scripts.atomic import write_parquet
from workflow_scripts.languages import language_name
from workflow_scripts.tables import read_table, require_columns


def resolve_format(fmt: str, model_id: str) -> str:
    if fmt != "auto":
        return fmt
    return "translategemma" if "translategemma" in model_id.lower() else "instruction"


def translation_turn(text: str, source: str, target: str, fmt: str, instruction: str) -> str:
    if fmt == "translategemma":
        return f"<<<source>>>{source}<<<target>>>{target}<<<text>>>{text}"
    return instruction.format(source=language_name(source), target=language_name(target), text=text)


def translate_step(snakemake) -> None:
    from vllm import SamplingParams

    from workflow_scripts.vllm_engine import chat_prompt, make_llm, require_prompts_fit, token_prompts

    spec = snakemake.params.spec
    source = read_table(snakemake.input.prompts)
    require_columns(source, snakemake.input.prompts, {"prompt_id": "string", "prompt": "string", "reference": "string"})
    fmt = resolve_format(spec["format"], spec["model"])
    llm = make_llm(spec["engine"], spec["model"], spec["revision"])
    tokenizer = llm.get_tokenizer()
    texts = source.column("prompt").to_pylist() + source.column("reference").to_pylist()
    requests = [
        chat_prompt(tokenizer, [{"role": "user", "content": translation_turn(t, spec["source_language"], spec["language"], fmt, spec["instruction"])}],
                    spec["chat_template_kwargs"])
        for t in texts
    ]
    params = SamplingParams(temperature=spec["temperature"], max_tokens=spec["max_tokens"], seed=0)
    ids = source.column("prompt_id").to_pylist()
    engine_prompts = token_prompts(tokenizer, requests)
    require_prompts_fit([f"{pid} (prompt)" for pid in ids] + [f"{pid} (reference)" for pid in ids], engine_prompts,
                        spec["engine"]["max_model_len"], file=snakemake.input.prompts, field="prompt, reference")
    outputs = llm.generate(engine_prompts, params, use_tqdm=True)
    translated = [o.outputs[0].text.strip() for o in outputs]
    truncated = sum(o.outputs[0].finish_reason == "length" for o in outputs)
    if truncated:
        print(f"[croco] WARNING: {truncated} translation(s) hit translation.max_tokens and are truncated", flush=True)
    n = source.num_rows
    write_parquet(pa.table({
        "prompt_id": source.column("prompt_id"),
        "prompt": pa.array(translated[:n], pa.string()),
        "reference": pa.array(translated[n:], pa.string()),
        "translator": pa.array([spec["translator"]] * n, pa.string()),
        "format": pa.array([fmt] * n, pa.string()),
        "truncated": pa.array([o.outputs[0].finish_reason == "length" for o in outputs[:n]], pa.bool_()),
    }), snakemake.output[0])
    print(f"[croco] translated {n} prompts and references into {spec['language']} ({fmt} format)")
