"""ICR, Implicit Cross-Lingual Rewarding (Yang et al., 2025; github ZNLP/Implicit-Cross-Lingual-Rewarding), one of
the paper's §4.1 baselines, as a pair-construction method of this workflow.

Reward (their utils/compute_reward_score.py, generate_preference_pair.py): a sample's implicit reward is
log π_DPO(y | x_en) − log π_ref(y | x_en), the summed log-probabilities of the response's tokens, teacher-forced,
with the English prompt of the same prompt id in the chat template, whatever the response's language. Here π_DPO
is the policy with its English Paired-DPO adapter and π_ref the policy without it (ICR's released DPO/reference
pairs are Llama-3-8B: none exists for this project's policies); both passes run on the same loaded model, the
adapter switched on and off, in length-sorted batches.

Pairs (generate_preference_pair.py with length control), per language: the score r − α·characters, with α the
value of a grid over [0, 1) in steps of 0.001 whose argmax-vs-argmin pairs have the smallest absolute mean
length gap (the first such α); chosen = the highest adjusted score, rejected = the lowest. Ties: the lower sample
index (numpy's argmax/argmin on the samples in index order, as theirs). Where they keep a prompt whose chosen and
rejected are the same sample (no gradient in DPO), it is dropped here and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns, require_language, require_unique_keys

# ICR's grid: numpy's arange(0.0, 1.0, 0.001), as their optimize_alpha
ALPHA_GRID = np.arange(0.0, 1.0, 0.001)

IMPLICIT_REWARD_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("sample_index", pa.int32()),
        ("reward", pa.float64()),  # logp_policy - logp_reference
        ("status", pa.string()),  # scored | skipped
        ("skip_reason", pa.string()),
        ("logp_policy", pa.float64()),  # log π_DPO(y | x_en)
        ("logp_reference", pa.float64()),  # log π_ref(y | x_en)
        ("characters", pa.int32()),  # the response's length, for the length control
        ("tokens", pa.int32()),  # the response's tokens scored
    ]
)


@dataclass(frozen=True)
class ImplicitRewardSpec(Spec):
    """What determines the implicit rewards of a generator's samples (the same for every language)."""

    model: ModelRef  # π_ref: the policy
    dpo_adapter: str  # π_DPO: the policy with this adapter (its English Paired-DPO adapter)
    source_language: str  # the prompts' language the rewards are computed under
    max_length: int  # prompt + response tokens; longer samples are skipped and counted
    batch_size: int  # sequences per forward pass
    precision: str  # auto | bf16 | fp16 | fp32
    software: dict
    code: str


def response_log_probs(model, input_ids: list[list[int]], starts: list[int], batch_size: int, progress=None) -> np.ndarray:
    """Per sequence, the sum of log p(token | prefix) over its tokens from `starts[i]` on (the response), by
    teacher forcing; sequences in length-sorted batches, right-padded."""
    import torch

    device = next(model.parameters()).device
    totals = np.zeros(len(input_ids))
    order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]))
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        width = max(len(input_ids[i]) for i in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, : len(input_ids[i])] = torch.tensor(input_ids[i])
            mask[r, : len(input_ids[i])] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for r, i in enumerate(rows):
            end = len(input_ids[i])
            # the logits at position t predict token t + 1; one row at a time keeps the softmax's memory to one sequence
            row = torch.log_softmax(logits[r, starts[i] - 1 : end - 1].float(), dim=-1)
            target = ids[r, starts[i] : end].to(row.device)
            totals[i] = float(row.gather(-1, target.unsqueeze(-1)).sum())
        if progress is not None:
            progress.update(len(rows))
    return totals


def encode_samples(tokenizer, prompts: list[str], responses: list[str], chat_template_kwargs: dict) -> tuple[list, list]:
    """(token ids of the chat-formatted English prompt followed by the response, index of the response's first
    token), per sample. The response is tokenized on its own after the generation prompt, with no end-of-turn
    token (ICR masks the end-of-text token out of the sum)."""
    heads: dict[str, list[int]] = {}
    input_ids, starts = [], []
    for prompt, response in zip(prompts, responses):
        if prompt not in heads:
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False, **chat_template_kwargs
            )
            heads[prompt] = tokenizer(text, add_special_tokens=False)["input_ids"]
        head = heads[prompt]
        input_ids.append(head + tokenizer(response, add_special_tokens=False)["input_ids"])
        starts.append(len(head))
    return input_ids, starts


def load_policy_with_adapter(spec: ImplicitRewardSpec):
    """(tokenizer, PEFT model): the policy with the π_DPO adapter, in the configured precision, on the GPU if any."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workflow_scripts.runtime.models import loading_model, require_adapter_dir

    require_adapter_dir(spec.dpo_adapter)
    gpu = torch.cuda.is_available()
    precision = spec.precision if spec.precision != "auto" else ("bf16" if gpu and torch.cuda.is_bf16_supported() else "fp32")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]
    location, revision = spec.model.location, spec.model.revision
    with loading_model(location, revision):
        tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
        base = AutoModelForCausalLM.from_pretrained(location, revision=revision, dtype=dtype)
    model = PeftModel.from_pretrained(base, spec.dpo_adapter).to("cuda" if gpu else "cpu")
    model.eval()
    return tokenizer, model


def implicit_rewards(spec: ImplicitRewardSpec, tokenizer, model, prompts: list[str], responses: list[str | None]) -> dict:
    """The implicit-reward columns (IMPLICIT_REWARD_SCHEMA after the keys) of these samples: one pass with the
    adapter (π_DPO), one without (π_ref). Empty and over-long samples are skipped with their reason."""
    from tqdm import tqdm

    texts = [r or "" for r in responses]
    input_ids, starts = encode_samples(tokenizer, prompts, texts, spec.model.chat_template_kwargs)
    reasons = [
        "empty_response" if not text.strip() else ("too_long" if len(ids) > spec.max_length else None)
        for text, ids in zip(texts, input_ids)
    ]
    keep = [i for i, reason in enumerate(reasons) if reason is None]
    policy = np.full(len(texts), np.nan)
    reference = np.full(len(texts), np.nan)
    if keep:
        ids, first = [input_ids[i] for i in keep], [starts[i] for i in keep]
        with tqdm(total=2 * len(keep), unit="samples", desc="log-probabilities (π_DPO, then π_ref)", mininterval=5) as bar:
            policy[keep] = response_log_probs(model, ids, first, spec.batch_size, bar)
            with model.disable_adapter():
                reference[keep] = response_log_probs(model, ids, first, spec.batch_size, bar)
    return {
        "reward": (policy - reference).tolist(),
        "status": ["skipped" if reason else "scored" for reason in reasons],
        "skip_reason": reasons,
        "logp_policy": policy.tolist(),
        "logp_reference": reference.tolist(),
        "characters": [len(text) for text in texts],
        "tokens": [len(ids) - start for ids, start in zip(input_ids, starts)],
    }


def implicit_reward_step(snakemake) -> None:
    """The implicit rewards of one language's samples, under the English prompts."""
    from workflow_scripts.runtime.atomic import atomic_file

    spec = ImplicitRewardSpec.load(snakemake.params.spec)
    lang, path = snakemake.wildcards.lang, snakemake.input.generations
    samples = read_parquet_columns(
        path, {"prompt_id": "string", "language": "string", "sample_index": "integer", "response": "string"}
    )
    require_unique_keys(samples, path, ["prompt_id", "sample_index"])
    require_language(samples.column("language"), lang, path)
    english = read_parquet_columns(snakemake.input.source_prompts, {"prompt_id": "string", "prompt": "string"})
    by_id = dict(zip(english.column("prompt_id").to_pylist(), english.column("prompt").to_pylist()))
    ids = samples.column("prompt_id").to_pylist()
    missing = sorted(set(ids) - set(by_id))
    if missing:
        raise UserError(
            f"{len(missing)} prompt id(s) of the samples have no {spec.source_language} prompt, e.g. {missing[0]}",
            file=str(snakemake.input.source_prompts),
            field="prompt_id",
        )
    tokenizer, model = load_policy_with_adapter(spec)
    columns = implicit_rewards(spec, tokenizer, model, [by_id[i] for i in ids], samples.column("response").to_pylist())
    keys = {"prompt_id": ids, "language": [lang] * samples.num_rows, "sample_index": samples.column("sample_index").to_pylist()}
    with atomic_file(snakemake.output[0]) as tmp:
        pq.write_table(pa.table({**keys, **columns}, schema=IMPLICIT_REWARD_SCHEMA), tmp)
    scored = columns["status"].count("scored")
    print(f"[croco] implicit rewards of {scored} samples, {samples.num_rows - scored} skipped (empty or too long)", flush=True)


# ---------------------------------------------------------------- pairs


def sample_matrix(table: pa.Table) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(prompt ids, sample index, reward, characters) as [prompts x samples] matrices in sample-index order; a
    missing or skipped sample has reward NaN."""
    ids = pc.unique(table.column("prompt_id")).to_pylist()
    row = {pid: i for i, pid in enumerate(ids)}
    width = int(pc.max(table.column("sample_index")).as_py()) + 1 if table.num_rows else 0
    index = np.full((len(ids), width), -1)
    reward = np.full((len(ids), width), np.nan)
    length = np.zeros((len(ids), width))
    cols = table.to_pydict()
    for pid, sample, value, status, chars in zip(
        cols["prompt_id"], cols["sample_index"], cols["reward"], cols["status"], cols["characters"]
    ):
        r = row[pid]
        index[r, sample] = sample
        reward[r, sample] = value if status == "scored" and value is not None and math.isfinite(value) else np.nan
        length[r, sample] = chars
    return ids, index, reward, length


def extremes(reward: np.ndarray, length: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt, the samples with the highest and the lowest reward − α·length (the first on ties); NaN is
    never chosen."""
    adjusted = reward - alpha * length
    return (
        np.argmax(np.where(np.isnan(adjusted), -np.inf, adjusted), axis=1),
        np.argmin(np.where(np.isnan(adjusted), np.inf, adjusted), axis=1),
    )


def length_gap(reward: np.ndarray, length: np.ndarray, alpha: float) -> float:
    """The mean chosen − rejected length over the prompts, for this α."""
    chosen, rejected = extremes(reward, length, alpha)
    rows = np.arange(len(reward))
    return float(np.mean(length[rows, chosen] - length[rows, rejected])) if len(reward) else 0.0


def search_alpha(reward: np.ndarray, length: np.ndarray, grid: np.ndarray = ALPHA_GRID) -> tuple[float, list[float]]:
    """ICR's α: the first of the grid with the smallest absolute mean length gap; and the gap at every α."""
    gaps = [length_gap(reward, length, alpha) for alpha in grid]
    best, smallest = 0.0, math.inf
    for alpha, gap in zip(grid, gaps):
        if abs(gap) < abs(smallest):
            best, smallest = float(alpha), gap
    return best, gaps


def icr_pairs(table: pa.Table) -> tuple[dict, dict]:
    """One language's pairs: {prompt_id: (chosen sample, rejected sample, chosen score, rejected score)} over the
    prompts with a pair, and the language's statistics (α, the length gap before and after, counts)."""
    ids, index, reward, length = sample_matrix(table)
    scorable = ~np.all(np.isnan(reward), axis=1)
    ids = [pid for pid, keep in zip(ids, scorable) if keep]
    index, reward, length = index[scorable], reward[scorable], length[scorable]
    alpha, _ = search_alpha(reward, length)
    chosen, rejected = extremes(reward, length, alpha)
    rows = np.arange(len(ids))
    adjusted = reward - alpha * length
    pairs = {
        pid: (int(index[r, c]), int(index[r, j]), float(adjusted[r, c]), float(adjusted[r, j]))
        for r, pid, c, j in zip(rows, ids, chosen, rejected)
        if c != j and adjusted[r, c] > adjusted[r, j]
    }
    stats = {
        "alpha": alpha,
        "length_gap_without_control": length_gap(reward, length, 0.0),
        "length_gap": length_gap(reward, length, alpha),
        "prompts": len(scorable),
        "no_scored_samples": int((~scorable).sum()),
        "no_pair": len(ids) - len(pairs),
        "pairs": len(pairs),
    }
    return pairs, stats


def build_icr(reward_paths: dict[str, str], generation_paths: dict[str, str], languages: list[str]):
    """The ICR DPO table of a scope: every language's pairs (each with its prompt in that language)."""
    from workflow_scripts.stages.pairs import within_language_pairs

    columns = {"prompt_id": "string", "language": "string", "sample_index": "integer", "reward": "float", "status": "string"}
    columns["characters"] = "integer"
    rows, per_language = [], {}
    for lang in languages:
        path = reward_paths[lang]
        table = read_parquet_columns(path, columns)
        require_language(table.column("language"), lang, path)
        pairs, per_language[lang] = icr_pairs(table)
        rows += [(lang, pid, *pair) for pid, pair in pairs.items()]
    out = within_language_pairs(rows, generation_paths)
    stats = {"method": "icr", "languages": languages, "pairs": out.num_rows, "per_language": per_language}
    return out, stats
