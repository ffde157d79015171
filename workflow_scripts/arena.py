"""m-ArenaHard: answers per (model, language), a pairwise LLM judge, and win rates per comparison.

Answers come from `CohereLabs/m-ArenaHard-v2.0` (Hub, one config per language) or from a local file per
language (JSONL/Parquet/CSV with prompt_id or question_id, prompt, and optional category/subcategory).

The judge sees the question and two answers and ends with a verdict: [[1]], [[2]] or, when ties are
allowed, [[T]]. A verdict is read only when the judge gave exactly one distinct one after its reasoning;
anything else is counted as unparseable, never guessed. A small judge may instead be read through the
log-probabilities of the verdict tokens (mode `logprobs`, position-debiased when both orders are judged).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.atomic import write_json, write_parquet
from workflow_scripts.errors import UserError
from workflow_scripts.fingerprint import file_sha256
from workflow_scripts.layout import ARENA_ANSWERS, ARENA_PROMPTS, parse_subject
from workflow_scripts.models import model_inputs
from workflow_scripts.plan import arena_comparisons, arena_languages, effective_judge
from workflow_scripts.prompts import check_prompt_ids
from workflow_scripts.specs import (
    ENGINE_PACKAGES,
    HUB_DATA_PACKAGES,
    STATISTICS_PACKAGES,
    ModelRef,
    Spec,
    engine_spec,
    model_ref,
    software,
    step_code,
)
from workflow_scripts.tables import (
    read_parquet_columns,
    read_table,
    require_columns,
    require_non_empty_strings,
    require_unique_keys,
)

ARENA_PROMPT_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("prompt", pa.string()),
    ]
)

VERDICT_RE = re.compile(r"\[\[\s*(1|2|T|t)\s*\]\]")
THINKING_RE = re.compile(r"<think>.*?</think>", re.DOTALL)

JUDGE_TEMPLATE = (
    (
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user "
        "question displayed below. The question is written in {language}; a good answer is helpful, correct and written in "
        "{language}. Do not let the order of the responses, their length or the assistants' names influence you."
    )
    + """

[User Question]
{question}

[The Start of Assistant 1's Answer]
{answer_1}
[The End of Assistant 1's Answer]

[The Start of Assistant 2's Answer]
{answer_2}
[The End of Assistant 2's Answer]

{verdict_instruction}"""
)

VERDICT_WITH_TIES = (
    'After a short explanation, output your final verdict strictly in this format: "[[1]]" if assistant 1 is better, '
    '"[[2]]" if assistant 2 is better, and "[[T]]" for a tie.'
)
VERDICT_NO_TIES = (
    'After a short explanation, output your final verdict strictly in this format: "[[1]]" if assistant 1 is better and '
    '"[[2]]" if assistant 2 is better. You must pick one.'
)

# The authors' judge prompts (jjzha/CroCo, src/eval_marenahard.py, Apache-2.0), verbatim: under `protocol:
# paper` the judge must read exactly what theirs read for the numbers to be comparable.
PAPER_JUDGE_PROMPTS = {
    True: (
        "I need you to compare two responses to the same instruction. Please analyze both responses carefully "
        "and determine which one is better overall.\n<instruction>{instruction}</instruction>\n<output_1>{output_1}"
        "</output_1>\n<output_2>{output_2}</output_2>\nCompare the two outputs above. Consider helpfulness, relevance, "
        "accuracy, depth, creativity, and level of detail. Keep your analysis to at most 500 tokens. After your "
        'analysis, output your final verdict by strictly following this format: "[[1]]" if output_1 is better, '
        '"[[2]]" if output_2 is better, "[[T]]" if they are equally good. Your final line must be exactly one '
        "of: [[1]], [[2]], or [[T]]. Do NOT output any other text after your verdict."
    ),
    False: (
        "I need you to compare two responses to the same instruction. Please analyze both responses carefully "
        "and determine which one is better overall.\n<instruction>{instruction}</instruction>\n<output_1>{output_1}"
        "</output_1>\n<output_2>{output_2}</output_2>\nCompare the two outputs above. Consider helpfulness, relevance, "
        "accuracy, depth, creativity, and level of detail. Keep your analysis to at most 500 tokens. After your "
        'analysis, output your final verdict by strictly following this format: "[[1]]" if output_1 is better, '
        '"[[2]]" if output_2 is better. Your final line must be exactly one of: [[1]] or [[2]]. Do NOT output '
        "any other text after your verdict."
    ),
}
PAPER_VERDICT_RE = re.compile(r"\[\[\s*([12mMtT])\s*\]\]")


def judge_prompt(protocol: str, allow_ties: bool, language: str, question: str, answer_1: str, answer_2: str) -> str:
    if protocol == "paper":
        return PAPER_JUDGE_PROMPTS[allow_ties].format(instruction=question, output_1=answer_1, output_2=answer_2)
    instruction = VERDICT_WITH_TIES if allow_ties else VERDICT_NO_TIES
    return JUDGE_TEMPLATE.format(
        language=language, question=question, answer_1=answer_1, answer_2=answer_2, verdict_instruction=instruction
    )


# ---------------------------------------------------------------- specs


@dataclass(frozen=True)
class ArenaPromptsSpec(Spec):
    language: str
    file: str | None  # a local prompt file for this language, used instead of the Hub
    file_sha256: str | None
    hub: str | None
    split: str
    revision: str | None
    limit: int | None
    software: dict  # versions of the packages that compute it
    code: str


def arena_prompts_spec(config: dict, lang: str) -> ArenaPromptsSpec:
    prompts = config["evaluation"]["arena"]["prompts"]
    path = prompts["files"].get(lang)
    return ArenaPromptsSpec(
        language=lang,
        file=path,
        file_sha256=file_sha256(path) if path else None,
        hub=None if path else prompts["hub"],
        split=prompts["split"],
        revision=prompts["revision"],
        limit=prompts["limit"],
        software=software(HUB_DATA_PACKAGES),
        code=step_code("arena_prompts"),
    )


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


def answers_spec(config: dict, subject: str, languages: list[str] | None = None) -> AnswersSpec:
    """A subject's answers in `languages` (by default every arena language, the configured comparisons' job)."""
    base, _ = parse_subject(subject)
    generation = config["evaluation"]["arena"]["generation"]
    return AnswersSpec(
        model=model_ref(config, base),
        subject=subject,
        languages=list(languages or arena_languages(config)),
        max_lora_rank=min(r for r in VLLM_LORA_RANKS if r >= config["training"]["lora"]["r"]),
        engine=engine_spec(config, base),
        max_tokens=generation["max_tokens"],
        # per base model (the authors answer with aya at 0.1, every other model greedily)
        temperature=generation["temperatures"].get(base, generation["temperature"]),
        seed=generation["seed"],
        software=software(ENGINE_PACKAGES),
        code=step_code("arena_answers"),
    )


def answers_inputs(config: dict, subject: str, languages: list[str] | None = None) -> dict:
    base, adapter = parse_subject(subject)
    return {
        "prompts": [ARENA_PROMPTS.format(lang=lang) for lang in languages or arena_languages(config)],
        "model": model_inputs(config, base),
        "adapter": [adapter.adapter_dir] if adapter else [],
    }


@dataclass(frozen=True)
class JudgeSettings(Spec):
    """evaluation.arena.judge with the protocol's defaults filled in."""

    model: str
    protocol: str  # paper | debiased
    mode: str  # generate | logprobs
    orders: str  # both | random
    allow_ties: bool
    tie_margin: float
    max_tokens: int
    temperature: float
    seed: int


@dataclass(frozen=True)
class JudgeSpec(Spec):
    model: ModelRef
    languages: list  # one engine judges them all, one language (one batch) at a time
    judge: JudgeSettings
    engine: dict
    software: dict  # versions of the packages that compute it
    code: str


def judge_spec(config: dict, languages: list[str] | None = None) -> JudgeSpec:
    """The judge's settings for `languages` (by default every arena language, the configured comparisons' job)."""
    judge = effective_judge(config["evaluation"]["arena"]["judge"])
    ref = model_ref(config, judge["model"])
    # the judge's own template arguments win over the arena default (thinking off)
    ref = ModelRef(ref.location, ref.revision, ref.identity, {**judge["chat_template_kwargs"], **ref.chat_template_kwargs})
    settings = JudgeSettings(**{k: v for k, v in judge.items() if k != "chat_template_kwargs"})
    return JudgeSpec(
        model=ref,
        languages=list(languages or arena_languages(config)),
        judge=settings,
        engine=engine_spec(config, judge["model"]),
        software=software(ENGINE_PACKAGES),
        code=step_code("arena_judge"),
    )


def judge_inputs(config: dict, comparison: str, languages: list[str] | None = None) -> dict:
    pair = arena_comparisons(config)[comparison]
    langs = languages or arena_languages(config)
    return {
        "model_answers": [ARENA_ANSWERS.format(subject=pair["model"], lang=lang) for lang in langs],
        "baseline_answers": [ARENA_ANSWERS.format(subject=pair["baseline"], lang=lang) for lang in langs],
        "judge": model_inputs(config, config["evaluation"]["arena"]["judge"]["model"]),
    }


@dataclass(frozen=True)
class WinRateSpec(Spec):
    comparison: str
    model: str  # the compared subjects
    baseline: str
    judge: str
    protocol: str
    language: str
    bootstrap_samples: int
    seed: int
    software: dict  # versions of the packages that compute it
    code: str


def win_rate_spec(config: dict, comparison: str, lang: str) -> WinRateSpec:
    arena = config["evaluation"]["arena"]
    pair = arena_comparisons(config)[comparison]
    return WinRateSpec(
        comparison=comparison,
        model=pair["model"],
        baseline=pair["baseline"],
        judge=arena["judge"]["model"],
        protocol=arena["judge"]["protocol"],
        language=lang,
        bootstrap_samples=arena["bootstrap_samples"],
        seed=arena["seed"],
        software=software(STATISTICS_PACKAGES),
        code=step_code("arena_winrate"),
    )


# ---------------------------------------------------------------- prompts


def normalize_arena_prompts(table: pa.Table, path, language: str) -> pa.Table:
    if table.num_rows == 0:
        raise UserError("the m-ArenaHard prompt file is empty", file=str(path))
    if "prompt_id" not in table.column_names and "question_id" in table.column_names:
        table = table.rename_columns(["prompt_id" if c == "question_id" else c for c in table.column_names])
    if "prompt_id" in table.column_names and not pa.types.is_string(table.schema.field("prompt_id").type):
        table = table.set_column(table.column_names.index("prompt_id"), "prompt_id", table.column("prompt_id").cast(pa.string()))
    require_columns(table, path, {"prompt_id": "string", "prompt": "string"})
    require_non_empty_strings(table, path, "prompt")
    check_prompt_ids(table, path)

    def text_column(*names):
        for name in names:
            if name in table.column_names:
                return table.column(name).cast(pa.string())
        return pa.nulls(table.num_rows, pa.string())

    return pa.table(
        {
            "prompt_id": table.column("prompt_id"),
            "language": pa.array([language] * table.num_rows, pa.string()),
            "category": text_column("category"),
            "subcategory": text_column("subcategory", "cluster"),
            "prompt": table.column("prompt"),
        },
        schema=ARENA_PROMPT_SCHEMA,
    )


def load_arena_prompts(spec: ArenaPromptsSpec, language: str) -> pa.Table:
    if spec.file:
        return normalize_arena_prompts(read_table(spec.file), spec.file, language)
    from datasets import load_dataset

    try:
        dataset = load_dataset(spec.hub, language, split=spec.split, revision=spec.revision)
    except Exception as exc:  # the Hub or its cache is the only source here: say which and why
        raise UserError(
            f"cannot load {spec.hub} ({language}, split {spec.split}) from the Hugging Face Hub: {exc}",
            field=f"evaluation.arena.prompts.{language}",
        ) from None
    return normalize_arena_prompts(dataset.data.table, f"hf://{spec.hub}/{language}", language)


def arena_prompts_step(snakemake) -> None:
    spec = ArenaPromptsSpec.load(snakemake.params.spec)
    table = load_arena_prompts(spec, spec.language)
    if spec.limit:
        table = table.slice(0, spec.limit)
    write_parquet(table, snakemake.output[0])
    print(f"[croco] {table.num_rows} m-ArenaHard prompts in {spec.language}")


# ---------------------------------------------------------------- answers

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
    from vllm import SamplingParams

    from workflow_scripts.vllm_engine import context_length, make_llm

    spec = AnswersSpec.load(snakemake.params.spec)
    model = spec.model
    adapter = snakemake.input.get("adapter") or None
    if adapter is not None and not isinstance(adapter, str):
        adapter = adapter[0] if len(adapter) else None
    extra = {}
    if adapter:
        from workflow_scripts.models import require_adapter_dir

        require_adapter_dir(adapter)  # before the engine starts
        extra = {"enable_lora": True, "max_lora_rank": spec.max_lora_rank, "max_loras": 1}
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
    from workflow_scripts.vllm_engine import require_prompts_fit, user_turn_prompts

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


# ---------------------------------------------------------------- judging


def parse_verdict(text: str, allow_ties: bool) -> str | None:
    """'1', '2', 'T' or None (unparseable): exactly one distinct verdict after any thinking block."""
    text = THINKING_RE.sub("", text or "")
    if "<think>" in text:  # an unterminated thinking block: the verdict never came
        return None
    found = {m.upper() for m in VERDICT_RE.findall(text)}
    if len(found) != 1:
        return None
    verdict = found.pop()
    if verdict == "T" and not allow_ties:
        return None
    return verdict


def parse_verdict_paper(text: str) -> str | None:
    """The authors' reading of a verdict: '1', '2', 'T' or None. Escaped brackets count as brackets, the
    last [[1]]/[[2]]/[[T]]/[[M]] in the output decides (so a verdict after an echoed format string is read),
    and anything but 1 or 2 is a tie, whether ties were allowed or not."""
    found = PAPER_VERDICT_RE.findall((text or "").replace("\\[", "[").replace("\\]", "]"))
    if not found:
        return None
    return found[-1] if found[-1] in ("1", "2") else "T"


def game_plan(prompt_ids: list[str], orders: str, seed: int) -> list[tuple[str, bool]]:
    """(prompt_id, model_is_first) for every game: both orders, or one seeded random order per prompt."""
    if orders == "both":
        return [(pid, first) for pid in prompt_ids for first in (True, False)]
    games = []
    for pid in prompt_ids:
        digest = int.from_bytes(hashlib.sha256(f"{seed}:{pid}".encode()).digest()[:8], "big")
        games.append((pid, digest % 2 == 0))
    return games


def logprob_verdicts(
    scores: list[dict], games: list[tuple[str, bool]], allow_ties: bool, tie_margin: float, debias: bool
) -> list[str | None]:
    """Verdicts from the log-probabilities of the verdict tokens.

    Small judges prefer a position regardless of content. With both orders judged (`debias`), the model's
    margin, log p(its slot) - log p(the other slot), is averaged over the prompt's two games and decides
    both; otherwise each game is read alone (the most likely of 1, 2 and T). A margin within `tie_margin`
    is a tie; where ties are not allowed, it is unparseable rather than guessed.
    """

    def margin(score, model_is_first):
        if "1" not in score or "2" not in score:
            return None
        return (score["1"] - score["2"]) * (1 if model_is_first else -1)

    if not debias:
        return [max(score, key=score.get) if score else None for score in scores]
    by_prompt: dict[str, list[float]] = {}
    for score, (pid, first) in zip(scores, games):
        value = margin(score, first)
        by_prompt.setdefault(pid, []).append(value)
    verdicts = []
    for pid, first in games:
        values = by_prompt[pid]
        if any(v is None for v in values):
            verdicts.append(None)
            continue
        mean = sum(values) / len(values)
        if abs(mean) <= tie_margin:
            verdicts.append("T" if allow_ties else None)
        else:
            model_wins = mean > 0
            verdicts.append("1" if model_wins == first else "2")
    return verdicts


def outcome_for_model(verdict: str | None, model_is_first: bool) -> float | None:
    if verdict is None:
        return None
    if verdict == "T":
        return 0.5
    return 1.0 if (verdict == "1") == model_is_first else 0.0


JUDGMENT_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("model_is_first", pa.bool_()),
        ("status", pa.string()),  # judged | unparseable | too_long (the judge prompt did not fit)
        ("verdict", pa.string()),
        ("outcome", pa.float64()),
        ("model_tokens", pa.int32()),
        ("baseline_tokens", pa.int32()),
        ("model_chars", pa.int32()),
        ("baseline_chars", pa.int32()),
        ("judge_output", pa.string()),
    ]
)


ANSWER_COLUMNS = {
    "prompt_id": "string",
    "category": "string",
    "subcategory": "string",
    "prompt": "string",
    "answer": "string",
    "answer_tokens": "integer",
}


def read_answer_pair(model_path: str, baseline_path: str):
    """The two answer tables of one language, indexed by prompt id; both must answer the same prompts once."""
    answers = []
    for path in (model_path, baseline_path):
        table = read_parquet_columns(path, ANSWER_COLUMNS)
        check_prompt_ids(table, path)  # one answer per prompt
        answers.append(table.to_pandas().set_index("prompt_id"))
    model, base = answers
    if set(model.index) != set(base.index):
        raise UserError("the two answer files hold different prompt ids", file=str(baseline_path), field="prompt_id")
    return model, base


def judge_step(snakemake) -> None:
    """Every language of one comparison with one judge engine, one batch per language."""
    from workflow_scripts.vllm_engine import make_llm

    spec = JudgeSpec.load(snakemake.params.spec)
    pairs = [read_answer_pair(m, b) for m, b in zip(snakemake.input.model_answers, snakemake.input.baseline_answers)]
    extra = {"logprobs_mode": "processed_logprobs"} if spec.judge.mode == "logprobs" else {}
    llm = make_llm(spec.engine, spec.model.location, spec.model.revision, **extra)
    for lang, (model, base), output in zip(spec.languages, pairs, snakemake.output):
        table = judge_language(llm, spec, lang, model, base)
        write_parquet(table, output)


def judge_language(llm, spec: JudgeSpec, lang: str, model, base) -> pa.Table:
    from vllm import SamplingParams

    from workflow_scripts.languages import language_name
    from workflow_scripts.vllm_engine import (
        context_length,
        first_token_logprobs,
        single_token_id,
        too_long_prompts,
        user_turn_prompts,
    )

    judge, judge_model = spec.judge, spec.model
    protocol = judge.protocol
    logprob_mode = judge.mode == "logprobs"
    games = game_plan(list(model.index), judge.orders, judge.seed)
    language = language_name(lang)
    tokenizer = llm.get_tokenizer()
    contents = []
    for pid, first in games:
        a, b = model.at[pid, "answer"], base.at[pid, "answer"]
        contents.append(
            judge_prompt(protocol, judge.allow_ties, language, model.at[pid, "prompt"], a if first else b, b if first else a)
        )
    # in logprobs mode the next token after the prompt is the verdict
    suffix = "Final verdict: [[" if logprob_mode else ""
    engine_prompts = user_turn_prompts(tokenizer, contents, judge_model.chat_template_kwargs, suffix)
    # A judge prompt that does not fit the judge's context is dropped and counted, not a failed job.
    labels = [str(i) for i in range(len(games))]
    context = context_length(spec.engine, judge_model.location, judge_model.revision)
    too_long = {int(label) for label, _ in too_long_prompts(labels, engine_prompts, context)}
    fitting = [i for i in range(len(games)) if i not in too_long]
    if too_long:
        print(
            f"[croco] {lang}: {len(too_long)} of {len(games)} judge prompt(s) exceed the judge's {context} tokens: "
            "dropped and counted",
            flush=True,
        )
    verdicts, raw = [None] * len(games), [None] * len(games)
    fitting_prompts = [engine_prompts[i] for i in fitting]
    if logprob_mode:
        labels = ["1", "2"] + (["T"] if judge.allow_ties else [])
        ids = {label: single_token_id(tokenizer, label, field="evaluation.arena.judge.mode") for label in labels}
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(ids), allowed_token_ids=list(ids.values()))
        scores = [{} for _ in games]
        for i, out in zip(fitting, llm.generate(fitting_prompts, params, use_tqdm=True) if fitting else []):
            scores[i] = first_token_logprobs(out, ids)
        for i in fitting:
            raw[i] = json.dumps({k: round(v, 4) for k, v in scores[i].items()})
        read = logprob_verdicts(scores, games, judge.allow_ties, judge.tie_margin, judge.orders == "both")
        verdicts = [None if i in too_long else verdict for i, verdict in enumerate(read)]
    else:
        parse = parse_verdict_paper if protocol == "paper" else (lambda text: parse_verdict(text, judge.allow_ties))
        params = SamplingParams(max_tokens=judge.max_tokens, temperature=judge.temperature, seed=judge.seed)
        for i, out in zip(fitting, llm.generate(fitting_prompts, params, use_tqdm=True) if fitting else []):
            raw[i] = out.outputs[0].text
            verdicts[i] = parse(raw[i])
    outcomes = [outcome_for_model(v, first) for v, (_, first) in zip(verdicts, games)]
    status = [
        "too_long" if i in too_long else ("judged" if verdicts[i] is not None else "unparseable") for i in range(len(games))
    ]
    pids = [pid for pid, _ in games]
    print(
        f"[croco] {lang}: judged {len(fitting)} of {len(games)} games ({protocol} protocol): "
        f"{status.count('unparseable')} unparseable, {len(too_long)} too long for the judge",
        flush=True,
    )
    return pa.table(
        {
            "prompt_id": pids,
            "language": [lang] * len(games),
            "category": [model.at[p, "category"] for p in pids],
            "subcategory": [model.at[p, "subcategory"] for p in pids],
            "model_is_first": [first for _, first in games],
            "status": status,
            "verdict": verdicts,
            "outcome": outcomes,
            "model_tokens": [int(model.at[p, "answer_tokens"]) for p in pids],
            "baseline_tokens": [int(base.at[p, "answer_tokens"]) for p in pids],
            "model_chars": [len(model.at[p, "answer"] or "") for p in pids],
            "baseline_chars": [len(base.at[p, "answer"] or "") for p in pids],
            "judge_output": raw,
        },
        schema=JUDGMENT_SCHEMA,
    )


# ---------------------------------------------------------------- win rates

JUDGMENT_COLUMNS = {
    "prompt_id": "string",
    "model_is_first": "boolean",
    "category": "string",
    "subcategory": "string",
    "status": "string",
    "outcome": "float",
    "model_tokens": "integer",
    "baseline_tokens": "integer",
    "model_chars": "integer",
    "baseline_chars": "integer",
}
# The length the LC win rate controls for: characters under the authors' protocol, tokens under ours.
LENGTH_UNITS = {"paper": "chars", "debiased": "tokens"}


def win_rates(judgments: pa.Table, bootstrap_samples: int, seed: int, path=None, protocol: str = "debiased") -> dict:
    """Overall and per-subcategory results from a judgments table (see JUDGMENT_SCHEMA). A game whose
    verdict could not be parsed is counted as unparseable, one whose judge prompt did not fit as too long;
    neither is ever a win, tie or loss."""
    from workflow_scripts.winrate import summarize

    frame = judgments.to_pandas()
    if frame.empty:
        raise UserError("no judged games", file=path and str(path), field="outcome")
    unit = LENGTH_UNITS[protocol]

    def block(part):
        parsed = part[part["outcome"].notna()]
        result = summarize(
            parsed["outcome"].to_numpy(float),
            (parsed[f"model_{unit}"] - parsed[f"baseline_{unit}"]).to_numpy(float),
            groups=parsed["prompt_id"].to_numpy(),
            bootstrap_samples=bootstrap_samples,
            seed=seed,
            lc_method=protocol,
        )
        result["unparseable"] = int((part["status"] == "unparseable").sum())
        result["too_long"] = int((part["status"] == "too_long").sum())
        result["prompts"] = int(part["prompt_id"].nunique())
        result[f"mean_model_{unit}"] = float(part[f"model_{unit}"].mean())
        result[f"mean_baseline_{unit}"] = float(part[f"baseline_{unit}"].mean())
        return result

    overall = block(frame)
    by = {}
    key = frame["subcategory"].fillna(frame["category"]).fillna("(none)")
    for name, part in frame.groupby(key, sort=True):
        by[str(name)] = block(part)
    return {"overall": overall, "by_subcategory": by}


def clean_nan(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_nan(v) for v in obj]
    return obj


def win_rate_step(snakemake) -> None:
    spec = WinRateSpec.load(snakemake.params.spec)
    judgments = read_parquet_columns(snakemake.input.judgments, JUDGMENT_COLUMNS)
    require_unique_keys(judgments, snakemake.input.judgments, ["prompt_id", "model_is_first"])  # one game per prompt and order
    result = win_rates(judgments, spec.bootstrap_samples, spec.seed, snakemake.input.judgments, spec.protocol)
    result.update({k: getattr(spec, k) for k in ("comparison", "model", "baseline", "judge", "language", "protocol")})
    result["length_unit"] = LENGTH_UNITS[spec.protocol]
    write_json(clean_nan(result), snakemake.output[0])
    o = result["overall"]
    print(
        f"[croco] {spec.comparison} ({spec.language}): win rate {o['win_rate']:.1f}%, "
        f"LC {o['lc_win_rate']:.1f}% [{o['lc_win_rate_ci95'][0]:.1f}, {o['lc_win_rate_ci95'][1]:.1f}], "
        f"{o['unparseable']} unparseable, {o['too_long']} too long for the judge ({spec.protocol} protocol)"
    )
