"""m-ArenaHard's pairwise judge: the judge sees the question and two answers and ends with a verdict: [[1]], [[2]]
or, when ties are allowed, [[T]]. Under `protocol: debiased` a verdict is read only when the judge gave exactly one
distinct one after its reasoning; anything else is counted as unparseable, never guessed. Under `protocol: paper`
the authors' prompt and reading are used. A small judge may instead be read through the log-probabilities of the
verdict tokens (mode `logprobs`, position-debiased when both orders are judged).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import pyarrow as pa

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import write_parquet
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import read_parquet_columns
from workflow_scripts.stages.prompts.prompt_set import check_prompt_ids

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
    from workflow_scripts.runtime.engines import make_llm

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
    from workflow_scripts.runtime.engines import (
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
