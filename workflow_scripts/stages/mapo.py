"""MAPO, Multilingual Alignment-as-Preference Optimization (She et al., 2024; github NJUNLP/MAPO), one of the paper's
§4.1 baselines, as a pair-construction method of this workflow.

Reward (their Preprocess/PPL_batched.py): a translation model (NLLB-200-distilled-600M) force-decodes each English
answer of the same prompt from the non-English sample (source: the sample, in its language's NLLB code; target:
the English answer, tokenized as eng_Latn text, as theirs); the sample's reward is the mean over the English
answers of 1 / (the mean token cross-entropy). Inputs are truncated to 512 tokens, as theirs. The English
answers are the English samples of the prompt, de-duplicated, without empty ones and without those repeating a
line (their Preprocess/extract_mutliL_en.py, check_repeated_sentences). Their per-answer mean runs over the
padded batch length (padding positions count as zero loss, so a reward depends on its batch); here it runs over
the answer's own tokens.

Pairs (their Preprocess/extract_dpo_data.py): the non-English samples of a prompt ranked by reward, every pair of
different rewards and texts, kept only when the better answer's final number is the gold one (math). The prompts
here have no gold answers, so that filter is left out, and one pair per prompt and language is kept, as CroCo
builds (the highest against the lowest reward). English is never a training language.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns, require_language, require_unique_keys

ALIGNMENT_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("sample_index", pa.int32()),
        ("reward", pa.float64()),  # mean over the English answers of 1 / token cross-entropy
        ("status", pa.string()),  # scored | skipped
        ("skip_reason", pa.string()),
        ("english_answers", pa.int32()),  # how many English answers the mean is over
    ]
)


@dataclass(frozen=True)
class AlignmentSpec(Spec):
    """What determines MAPO's rewards of one language's samples."""

    model: ModelRef  # the translation model (NLLB)
    language_code: str  # the samples' NLLB code
    english_code: str  # the English answers' NLLB code
    max_length: int  # tokens per side (theirs: 512)
    batch_size: int  # English answers per forward pass
    software: dict
    code: str


def repeats_a_line(text: str) -> bool:
    """MAPO's check_repeated_sentences: a line (blank lines collapsed once) that occurs twice or more."""
    counts = Counter(text.replace("\n\n", "\n").split("\n"))
    return any(count >= 2 for count in counts.values())


def english_answers(responses: list[str | None]) -> list[str]:
    """The reference answers of one prompt: its English samples, de-duplicated (first occurrence kept), without
    empty ones and those repeating a line."""
    kept = dict.fromkeys(r.strip() for r in responses if r and r.strip())
    return [r for r in kept if not repeats_a_line(r)]


def alignment_reward(model, tokenizer, source: str, answers: list[str], spec: AlignmentSpec) -> float:
    """The mean over `answers` of 1 / (mean token cross-entropy of the answer, force-decoded from `source`)."""
    import torch

    device = next(model.parameters()).device
    rewards = []
    for first in range(0, len(answers), spec.batch_size):
        batch = answers[first : first + spec.batch_size]
        tokenizer.src_lang = spec.language_code
        x = tokenizer([source] * len(batch), return_tensors="pt", padding=True, truncation=True, max_length=spec.max_length)
        tokenizer.src_lang = spec.english_code  # the target tokenized as English source text, as MAPO does
        y = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=spec.max_length)
        labels = y.input_ids.masked_fill(y.attention_mask == 0, -100)
        with torch.no_grad():
            logits = model(**{k: v.to(device) for k, v in x.items()}, labels=labels.to(device)).logits
        losses = torch.nn.functional.cross_entropy(
            logits.float().transpose(1, 2), labels.to(device), ignore_index=-100, reduction="none"
        )
        per_answer = losses.sum(dim=1) / (labels != -100).sum(dim=1).to(device)
        rewards += (1.0 / per_answer).tolist()
    return float(np.mean(rewards))


def load_translator(spec: AlignmentSpec):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from workflow_scripts.runtime.models import loading_model

    location, revision = spec.model.location, spec.model.revision
    with loading_model(location, revision):
        tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
        model = AutoModelForSeq2SeqLM.from_pretrained(location, revision=revision)
    model = model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    return tokenizer, model


def alignment_rewards(spec: AlignmentSpec, tokenizer, model, samples: pa.Table, english: pa.Table) -> dict:
    """The reward columns (ALIGNMENT_SCHEMA after the keys) of one language's samples."""
    from tqdm import tqdm

    by_prompt: dict[str, list] = {}
    for pid, response in zip(english.column("prompt_id").to_pylist(), english.column("response").to_pylist()):
        by_prompt.setdefault(pid, []).append(response)
    references = {pid: english_answers(responses) for pid, responses in by_prompt.items()}
    columns: dict[str, list] = {"reward": [], "status": [], "skip_reason": [], "english_answers": []}
    ids, responses = samples.column("prompt_id").to_pylist(), samples.column("response").to_pylist()
    for pid, response in tqdm(zip(ids, responses), total=len(ids), unit="samples", desc="alignment rewards", mininterval=5):
        answers = references.get(pid, [])
        reason = "empty_response" if not (response or "").strip() else (None if answers else "no_english_answer")
        reward = math.nan if reason else alignment_reward(model, tokenizer, response.strip(), answers, spec)
        columns["reward"].append(reward)
        columns["status"].append("skipped" if reason else "scored")
        columns["skip_reason"].append(reason)
        columns["english_answers"].append(len(answers))
    return columns


def alignment_step(snakemake) -> None:
    """MAPO's rewards of one (non-English) language's samples against the English samples of the same prompts."""
    from workflow_scripts.runtime.atomic import atomic_file

    spec = AlignmentSpec.load(snakemake.params.spec)
    lang, path = snakemake.wildcards.lang, snakemake.input.generations
    keys = {"prompt_id": "string", "language": "string", "sample_index": "integer", "response": "string"}
    samples = read_parquet_columns(path, keys)
    require_unique_keys(samples, path, ["prompt_id", "sample_index"])
    require_language(samples.column("language"), lang, path)
    english = read_parquet_columns(snakemake.input.english, keys)
    tokenizer, model = load_translator(spec)
    columns = alignment_rewards(spec, tokenizer, model, samples, english)
    out = {"prompt_id": samples.column("prompt_id"), "language": samples.column("language")}
    out["sample_index"] = samples.column("sample_index").cast(pa.int32())
    with atomic_file(snakemake.output[0]) as tmp:
        pq.write_table(pa.table({**out, **columns}, schema=ALIGNMENT_SCHEMA), tmp)
    scored = columns["status"].count("scored")
    print(f"[croco] alignment rewards of {scored} samples, {samples.num_rows - scored} skipped", flush=True)


# ---------------------------------------------------------------- pairs


def mapo_pairs(table: pa.Table) -> tuple[dict, dict]:
    """One language's pairs: {prompt_id: (chosen sample, rejected sample, chosen reward, rejected reward)}, the
    highest against the lowest reward of each prompt (the first sample on ties), where they differ."""
    cols = table.to_pydict()
    by_prompt: dict[str, list] = {}
    for pid, sample, reward, status in zip(cols["prompt_id"], cols["sample_index"], cols["reward"], cols["status"]):
        if status == "scored" and reward is not None and math.isfinite(reward):
            by_prompt.setdefault(pid, []).append((sample, reward))
    prompts = len(set(cols["prompt_id"]))
    pairs = {}
    for pid, scored in by_prompt.items():
        scored.sort()
        best = max(scored, key=lambda item: item[1])  # max/min keep the first (lowest sample index) on ties
        worst = min(scored, key=lambda item: item[1])
        if best[1] > worst[1]:
            pairs[pid] = (best[0], worst[0], best[1], worst[1])
    stats = {"prompts": prompts, "no_scored_samples": prompts - len(by_prompt), "no_pair": len(by_prompt) - len(pairs)}
    return pairs, {**stats, "pairs": len(pairs)}


def build_mapo(reward_paths: dict[str, str], generation_paths: dict[str, str], languages: list[str]):
    """The MAPO DPO table of a scope: every language's pairs, each with its prompt in that language (planning
    leaves English out of MAPO's scopes: it has no alignment rewards)."""
    from workflow_scripts.stages.pairs import within_language_pairs

    columns = {"prompt_id": "string", "language": "string", "sample_index": "integer", "reward": "float", "status": "string"}
    rows, per_language = [], {}
    for lang in languages:
        table = read_parquet_columns(reward_paths[lang], columns)
        require_language(table.column("language"), lang, reward_paths[lang])
        pairs, per_language[lang] = mapo_pairs(table)
        rows += [(lang, pid, *pair) for pid, pair in pairs.items()]
    out = within_language_pairs(rows, generation_paths)
    return out, {"method": "mapo", "languages": languages, "pairs": out.num_rows, "per_language": per_language}
