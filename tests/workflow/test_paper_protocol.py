"""The paper's protocol at tiny scale, for real: a stratified sample of a Dolci-format corpus, machine
translation that drops and counts over-long conversations, sampling without a language instruction (and an
instructed ablation), a held-out split with its eval loss, the authors' judge protocol (one random order,
last verdict, character-length LC fit) with an over-long judge prompt dropped and counted, and the report's
protocol table, Figure 2 and Figure 3.

The 135M model writes no verdict when asked to judge, so a run with it as the judge would show unparseable games
only. The judge here is a local model directory: the demo model merged with an adapter trained to saturation to
answer JUDGE_ANSWER, a tie and then [[1]]: the authors' reading (the last verdict) must count every game that fits
as judged, for output 1, and so as a win exactly where the evaluated model came first."""

import json
import math
import shutil

import pyarrow.parquet as pq
import pytest

from workflow_scripts.stages.arena.judge import judge_prompt

from fixed_answer import merge_into_model, train_fixed_answer_adapter
from helpers import MODEL, TEST_DATA, snakemake, tiny_config, work_jobs, write_config

CORPUS = TEST_DATA / "dolci_corpus.jsonl"
JUDGE = "smollm2-judge"
JUDGE_ANSWER = "At first sight a tie, [[T]]; read closely, output 1 answers better.\n[[1]]"
MULTI_DPO = f"{MODEL}/{MODEL}/multi-de+en/dpo-mean_minus_2sigma-chosen"
INSTRUCTED_DPO = f"results/adapters/{MODEL}/{MODEL}+instructed/mono-de/dpo-mean_minus_2sigma-chosen"
TRANSLATION_LIMIT = 300  # tokens: the corpus's long answers (~850 tokens to translate) exceed it, the rest do not
LONG_ARENA_PROMPT = "Summarize the following notes in one sentence. " + " ".join(
    f"Note {i}: the committee met, discussed the budget, and postponed the vote." for i in range(1, 21)
)


def paper_config():
    c = tiny_config(evaluation=True)
    c["languages"] = ["en", "de"]
    c["prompts"] = {"sample": {"file": "corpus.jsonl", "size": 8, "stratify_by": "domain", "seed": 42}, "translations": {}}
    c["translation"] = {"model": MODEL, "format": "instruction", "max_tokens": 16, "max_input_tokens": TRANSLATION_LIMIT}
    c["models"][JUDGE] = {"path": "judge-model", "temperature": 0.7, "max_model_len": 400}  # a short context
    c["generation"].update(samples=3, max_tokens=12)
    c["training"]["common"].update(eval_fraction=0.25, seed=42)
    c["experiments"] = {
        "main": {"policy": MODEL, "methods": ["dpo"], "regimes": ["multi"]},
        "instructed": {
            "policy": MODEL,
            "languages": ["de"],
            "methods": ["dpo"],
            "regimes": ["mono"],
            "language_instruction": True,
        },
    }
    c["evaluation"]["euroeval"] = {"enabled": False}
    arena = c["evaluation"]["arena"]
    arena["languages"] = ["en"]
    arena["prompts"] = {"files": {"en": "arena-en.jsonl"}}
    arena["generation"] = {"max_tokens": 8}
    arena["judge"] = {"model": JUDGE, "mode": "generate", "protocol": "paper", "max_tokens": 40, "seed": 1337}
    arena["comparisons"] = {"dpo-vs-base": {"model": MULTI_DPO, "baseline": MODEL}}
    arena["bootstrap_samples"] = 50
    return c


def build_judge(ws, questions):
    """The judge model, trained on the authors' judge prompt around other m-ArenaHard questions than the judged
    ones, with other answers."""
    base = ws / "results/models" / MODEL
    prompts = [judge_prompt("paper", True, "English", question, "Yes.", "It depends.") for question in questions]
    loss = train_fixed_answer_adapter(base, ws / "judge-adapter", prompts, JUDGE_ANSWER, steps=12)
    assert loss < 0.01, loss
    merge_into_model(base, ws / "judge-adapter", ws / "judge-model")


@pytest.fixture(scope="module")
def finished(seeded_workspace, tmp_path_factory):
    ws = seeded_workspace(tmp_path_factory.mktemp("paper-protocol"))
    shutil.copy(CORPUS, ws / "corpus.jsonl")
    arena = [json.loads(line) for line in (ws / "data/arena/en.jsonl").read_text().splitlines()[:2]]
    arena.append({"prompt_id": "arena-long", "category": "writing", "subcategory": "summary", "prompt": LONG_ARENA_PROMPT})
    (ws / "arena-en.jsonl").write_text("".join(json.dumps(row) + "\n" for row in arena))
    build_judge(ws, [json.loads(line)["prompt"] for line in (ws / "data/arena/en.jsonl").read_text().splitlines()[2:4]])
    config = write_config(ws, paper_config())
    result = snakemake(ws, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-8000:]
    return ws, config


def test_prompts_are_a_stratified_sample_with_the_corpus_ids(finished):
    ws, _ = finished
    sample = pq.read_table(ws / "results/source_prompts/sample.parquet").to_pandas()
    stats = json.loads((ws / "results/source_prompts/sample.stats.json").read_text())
    assert len(sample) == 8 and sample.prompt_id.str.startswith("dolci-").all()
    # 16 usable conversations (one has no answer, one an empty prompt): Chat 6, Coding 4, Math 4, Safety 2
    assert stats["usable"] == 16 and stats["unusable"] == 2
    assert {k: v["sampled"] for k, v in stats["strata"].items()} == {"Chat": 3, "Coding": 2, "Math": 2, "Safety": 1}
    assert sample.category.value_counts().to_dict() == {"Chat": 3, "Coding": 2, "Math": 2, "Safety": 1}
    corpus = {row["id"]: row for row in map(json.loads, CORPUS.read_text().splitlines())}
    for row in sample.itertuples():
        messages = [m for m in corpus[row.prompt_id]["messages"] if m["role"] != "system"]
        assert row.prompt == messages[0]["content"] and row.reference == messages[1]["content"]  # first exchange
    english = pq.read_table(ws / "results/prompts/en.parquet").to_pandas()
    assert english.prompt_id.tolist() == sample.prompt_id.tolist()


def test_over_long_conversations_are_dropped_from_their_translation_and_counted(finished):
    ws, _ = finished
    stats = json.loads((ws / f"results/translations/{MODEL}/de.stats.json").read_text())
    english = pq.read_table(ws / "results/prompts/en.parquet").column("prompt_id").to_pylist()
    german = pq.read_table(ws / "results/prompts/de.parquet").column("prompt_id").to_pylist()
    dropped = [d["prompt_id"] for d in stats["dropped_conversations"]]
    assert stats["conversations"] == 8 and stats["dropped"] == len(dropped) >= 1
    assert stats["translated"] == 8 - len(dropped) and stats["max_input_tokens"] == TRANSLATION_LIMIT
    assert all(d["tokens"] > TRANSLATION_LIMIT and d["turn"] in ("prompt", "reference") for d in stats["dropped_conversations"])
    long_ids = {
        row["id"]
        for row in map(json.loads, CORPUS.read_text().splitlines())
        if any(len(m["content"]) > 1000 for m in row["messages"])
    }
    assert set(dropped) == long_ids & set(english)  # exactly the sampled conversations with a long turn
    assert german == [pid for pid in english if pid not in dropped]  # the language goes without them
    generated = pq.read_table(ws / f"results/generations/{MODEL}/de.parquet").column("prompt_id").to_pylist()
    assert set(generated) == set(german)


def test_prompts_carry_no_instruction_unless_an_experiment_asks(finished):
    ws, _ = finished
    for lang in ("en", "de"):
        prompts = dict(
            zip(*pq.read_table(ws / f"results/prompts/{lang}.parquet", columns=["prompt_id", "prompt"]).to_pydict().values())
        )
        sampled = pq.read_table(ws / f"results/generations/{MODEL}/{lang}.parquet").to_pandas()
        assert all(row.prompt == prompts[row.prompt_id] for row in sampled.itertuples())  # the authors' protocol
        assert (sampled.temperature == 0.7).all()  # the demo model's own temperature
    instructed = pq.read_table(ws / f"results/generations/{MODEL}+instructed/de.parquet").to_pandas()
    assert instructed.prompt.str.endswith("\n\nPlease respond in German and nothing else.").all()
    pairs = pq.read_table(ws / f"results/datasets/{MODEL}+instructed/mono-de/dpo-mean_minus_2sigma-chosen.parquet").to_pandas()
    assert pairs.prompt.str.endswith("Please respond in German and nothing else.").all()
    assert (ws / INSTRUCTED_DPO / "adapter_config.json").is_file()


def test_training_holds_out_rows_and_reports_their_loss(finished):
    ws, _ = finished
    adapter = ws / "results/adapters" / MULTI_DPO
    metrics = json.loads((adapter / "training_metrics.json").read_text())
    pairs = pq.read_table(ws / f"results/datasets/{MODEL}/multi-de+en/dpo-mean_minus_2sigma-chosen.parquet")
    held = math.ceil(0.25 * pairs.num_rows)
    assert metrics["eval_examples"] == held and metrics["train_examples"] == pairs.num_rows - held
    assert set(metrics["eval_prompt_ids"]) <= set(pairs.column("prompt_id").to_pylist())
    evaluated = [row for row in metrics["log_history"] if "eval_loss" in row]
    assert evaluated and math.isfinite(evaluated[-1]["eval_loss"]) and "eval_rewards/accuracies" in evaluated[-1]
    assert metrics["final_eval"]["eval_loss"] == evaluated[-1]["eval_loss"]
    assert (adapter / "training_curves.png").stat().st_size > 1000


def test_the_authors_judge_protocol(finished):
    ws, _ = finished
    judgments = pq.read_table(ws / "results/arena/judgments/dpo-vs-base/en.parquet").to_pandas()
    assert len(judgments) == 3 and judgments.prompt_id.is_unique  # one seeded random order per prompt
    assert judgments.set_index("prompt_id").at["arena-long", "status"] == "too_long"  # dropped and counted
    fitted = judgments[judgments.prompt_id != "arena-long"]
    assert (fitted.status == "judged").all() and fitted.judge_output.str.contains(r"(?s)\[\[T\]\].*\[\[1\]\]", regex=True).all()
    assert (fitted.verdict == "1").all()  # the last of the verdicts the judge wrote
    # output 1 is the evaluated model's answer exactly where it was shown first (the seeded random order)
    assert fitted.outcome.tolist() == [1.0 if first else 0.0 for first in fitted.model_is_first]
    assert (judgments.model_chars >= 0).all() and (judgments.status == "judged").eq(judgments.outcome.notna()).all()
    result = json.loads((ws / "results/arena/winrates/dpo-vs-base/en.json").read_text())
    overall = result["overall"]
    assert result["protocol"] == "paper" and result["length_unit"] == "chars"
    assert overall["too_long"] == 1 and overall["games"] == 2 and overall["unparseable"] == 0
    assert overall["wins"] == int(fitted.model_is_first.sum()) and overall["losses"] == 2 - overall["wins"]
    assert "mean_model_chars" in overall and "win_rate_standard_error" in overall


def test_report_states_the_protocol_and_shows_the_data_figures(finished):
    ws, config = finished
    protocol = (ws / "results/report/protocol.html").read_text()
    for text in (
        "judge protocol</td><td>paper",
        "judge orders</td><td>random",
        "judge temperature</td><td>0.7",
        "language instruction</td><td>&#x27;Please respond in {language} and nothing else.&#x27; in instructed",
        "max_input_tokens</td><td>300",
        "eval_fraction</td><td>0.25",
        "corpus.jsonl: 8 stratified by domain",
    ):
        assert text in protocol, text
    assert "Machine translation" in protocol and "dolci-" in protocol  # the dropped ids
    summary = (ws / "results/report/summary.html").read_text()
    assert "Figure 2" in summary and "Figure 3" in summary
    assert "<img alt='prompt_domains'" in summary and "<img alt='token_lengths'" in summary
    for figure in ("prompt_domains.png", "token_lengths.png"):
        assert (ws / "results/report" / figure).stat().st_size > 5000
    lengths = pq.read_table(ws / f"results/token_lengths/{MODEL}/de.parquet").to_pandas()
    assert len(lengths) == len(pq.read_table(ws / "results/prompts/de.parquet")) and (lengths.prompt_tokens > 0).all()
    again = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert again.returncode == 0 and work_jobs(again) == []
