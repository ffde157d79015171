"""Evaluation at tiny scale, for real: adapters merged inside their EuroEval job, EuroEval in batches of subjects (offline custom
datasets, local metric scripts, vLLM), m-ArenaHard answers through LoRA, a log-probability judge, win rates, the report figures,
`snakemake --report`, and both pages rendered by headless Chromium. It extends a copy of the session's tiny run
(tests/conftest.py): its samples, scores, pairs and adapters are not made again, only evaluated.

The tiny run's adapters take one optimizer step and barely move the model, so their scores could equal the base's
even if every job evaluated the base. One of them (multilingual DPO) is therefore replaced, before the evaluation,
by an adapter of the same shape trained to saturation to answer "negativ" (Danish for negative) to everything, and
the Danish sentiment set labels every test document negative: evaluating that adapter must score 100 and answer
m-ArenaHard with that word, where the base does neither."""

import json
import shutil
import sys

import matplotlib.image
import pandas as pd
import pyarrow.parquet as pq
import pytest

from fixed_answer import train_fixed_answer_adapter
from helpers import CHROMIUM, MODEL, plan_roots, screenshot, snakemake, tiny_config, work_jobs, write_config

MULTI = f"{MODEL}/{MODEL}/multi-da+de+en"
MULTI_DPO = f"{MULTI}/dpo-mean_minus_2sigma-chosen"


def evaluation_config():
    c = tiny_config(evaluation=True)  # the tiny run's languages, samples and training: all made already
    c["experiments"] = {"main": {"policy": MODEL, "methods": ["dpo", "maxr"], "regimes": ["mono", "multi"]}}
    euroeval = c["evaluation"]["euroeval"]
    # English has none: not evaluated. Norwegian is evaluation-only (held out, like the paper's Table 2); its
    # set is the Danish knowledge set registered as Norwegian, which exercises the plumbing, not Norwegian.
    euroeval["datasets"] = {"da": [NEGATIVE_SET], "no": [HELD_OUT_SET]}
    euroeval["custom_datasets"] = {
        NEGATIVE_SET: {"task": "sentiment-classification", "language": "da", "dir": NEGATIVE_SET},
        HELD_OUT_SET: {"task": "knowledge", "language": "no", "dir": "data/euroeval/demo-knowledge-da"},
    }
    euroeval["num_iterations"] = 2
    euroeval["batch"] = "scope"  # one EuroEval process per batch (the paper-experiments module runs one per subject)
    euroeval["evaluate_test_split"] = True  # the authors' split
    euroeval["python"] = sys.executable  # EuroEval in another interpreter (here: this one, as a child process)
    arena = c["evaluation"]["arena"]
    arena["languages"] = ["da"]
    arena["prompts"]["files"] = {"da": "data/arena/da.jsonl"}
    arena["prompts"]["limit"] = 4
    arena["generation"]["max_tokens"] = 16
    arena["comparisons"] = {"dpo-vs-base": {"model": MULTI_DPO, "baseline": MODEL}}
    arena["bootstrap_samples"] = 100
    return c


HELD_OUT_SET = "demo-knowledge-da-as-no"
# The demo's Danish sentiment documents with every test label negative: a model that answers "negativ" to
# everything scores 100 (macro-F1), one that answers anything else for some document scores less.
NEGATIVE_SET = "sentiment-da-all-negative"
FIXED_ANSWER = "negativ"
SENTIMENT_INSTRUCTION = (  # EuroEval's zero-shot Danish sentiment prompt, on the demo's training documents
    "Dokument: {text}\n\nKlassificer sentimentet i dokumentet. Svar kun med 'positiv', 'neutral' eller 'negativ', og intet andet."
)


def write_all_negative_set(ws):
    source, target = ws / "data/euroeval/demo-sentiment-da", ws / NEGATIVE_SET
    target.mkdir()
    for split in ("train", "val"):
        shutil.copy(source / f"{split}.csv", target / f"{split}.csv")
    test = pd.read_csv(source / "test.csv").assign(label="negative")
    test.to_csv(target / "test.csv", index=False)
    return pd.read_csv(source / "train.csv").text.tolist()


def replace_with_fixed_answer_adapter(ws, train_texts):
    """Multilingual DPO's weights become an adapter (same LoRA settings) that answers FIXED_ANSWER; trained on
    sentiment prompts of the training documents and English m-ArenaHard prompts, evaluated on the test documents
    and the Danish m-ArenaHard prompts, which it never saw."""
    english_arena = [json.loads(line)["prompt"] for line in (ws / "data/arena/en.jsonl").read_text().splitlines()]
    prompts = [SENTIMENT_INSTRUCTION.format(text=text) for text in train_texts[:3]] + english_arena[:3]
    loss = train_fixed_answer_adapter(
        ws / "results/models" / MODEL, ws / "results/adapters" / MULTI_DPO, prompts, FIXED_ANSWER, steps=12
    )
    assert loss < 0.01, loss


# One EuroEval file per subject, with the languages it is evaluated in: the held-out language for the base and
# the multilingual adapters, never for a monolingual one.
EXPECTED_EUROEVAL = {
    f"results/euroeval/{MODEL}.json": ["da", "no"],
    f"results/euroeval/{MODEL}/{MODEL}/mono-da/dpo-mean_minus_2sigma-chosen.json": ["da"],
    f"results/euroeval/{MODEL}/{MODEL}/mono-da/maxr.json": ["da"],
    f"results/euroeval/{MULTI_DPO}.json": ["da", "no"],
    f"results/euroeval/{MULTI}/maxr.json": ["da", "no"],
}
# The batches of those subjects (`batch: scope`): the base model, the monolingual Danish adapters, the multilingual ones.
BASE_BATCH = f"results/euroeval-batches/{MODEL}.json"
MULTI_BATCH = f"results/euroeval-batches/{MODEL}/multi-da+de+en.json"
EXPECTED_BATCHES = [BASE_BATCH, f"results/euroeval-batches/{MODEL}/mono-da.json", MULTI_BATCH]


@pytest.fixture(scope="module")
def evaluated(tiny_run_copy, tmp_path_factory):
    ws = tiny_run_copy(tmp_path_factory.mktemp("evaluation") / "ws")
    replace_with_fixed_answer_adapter(ws, write_all_negative_set(ws))
    config = write_config(ws, evaluation_config())
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert planned.returncode == 0, planned.stderr[-3000:]
    jobs = work_jobs(planned)
    euroeval_jobs = sorted(out for rule, out in jobs if rule == "euroeval")
    assert euroeval_jobs == sorted(EXPECTED_EUROEVAL)  # base, monolingual Danish adapters, multilingual adapters
    assert sorted(out for rule, out in jobs if rule == "euroeval_batch") == sorted(EXPECTED_BATCHES)
    # the tiny run made everything the evaluations read: only evaluations, their inputs and the report are planned
    made = {"generate", "gather_generations", "score", "gather_scores", "preference_dataset", "train", "base_model"}
    assert jobs and not made & {rule for rule, _ in jobs}, jobs
    result = snakemake(ws, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-8000:]
    report = snakemake(ws, "--configfile", str(config), "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    return ws, config


def test_euroeval_scores_every_subject_with_intervals(evaluated):
    ws, _ = evaluated
    for path, langs in EXPECTED_EUROEVAL.items():
        result = json.loads((ws / path).read_text())
        assert list(result["languages"]) == langs
        for lang, evaluated_in in result["languages"].items():
            assert set(evaluated_in["datasets"]) == ({NEGATIVE_SET} if lang == "da" else {HELD_OUT_SET})
            for entry in evaluated_in["datasets"].values():
                assert entry["task"] in ("sentiment-classification", "knowledge")
                assert len(entry["iterations"]) == 2 and entry["split"] == "test"
                main = entry["metrics"][entry["primary_metric"]]
                # the score is the mean over EuroEval's iterations of the raw metric (a fraction), in points
                raw = [iteration[entry["primary_metric"]] for iteration in entry["iterations"]]
                assert main["score"] == pytest.approx(100 * sum(raw) / len(raw))
                low, high = main["ci95"]
                assert low <= main["score"] <= high and (high - low == 0) == (len(set(raw)) == 1)
    assert not list((ws / "results").rglob("*.merged-model")), "merged model copies are temporary"
    log = (ws / f"logs/euroeval-batches/{MODEL}/multi-da+de+en.log").read_text()
    assert log.count("[croco] merged") == 2 and log.count("EuroEval runs in") == 1  # both adapters, one EuroEval process
    batch = json.loads((ws / MULTI_BATCH).read_text())["subjects"]
    assert list(batch) == [MULTI_DPO, f"{MULTI}/maxr"]
    assert batch[MULTI_DPO] == json.loads((ws / f"results/euroeval/{MULTI_DPO}.json").read_text())  # taken out as is


def test_the_evaluated_model_is_the_adapter(evaluated):
    ws, _ = evaluated

    def sentiment_iterations(subject):
        entry = json.loads((ws / f"results/euroeval/{subject}.json").read_text())["languages"]["da"]["datasets"][NEGATIVE_SET]
        return [iteration["macro_f1"] for iteration in entry["iterations"]]

    # EuroEval of the adapter read "negativ" for every document; of the base, something else for some
    assert sentiment_iterations(MULTI_DPO) == [1.0, 1.0]
    assert max(sentiment_iterations(MODEL)) < 1.0
    # m-ArenaHard answers through the adapter (vLLM's LoRA) are its answer; the base's never are
    adapter = pq.read_table(ws / f"results/arena/answers/{MULTI_DPO}/da.parquet").column("answer").to_pylist()
    base = pq.read_table(ws / f"results/arena/answers/{MODEL}/da.parquet").column("answer").to_pylist()
    assert [answer.strip() for answer in adapter] == [FIXED_ANSWER] * 4
    assert not any(answer.strip() == FIXED_ANSWER for answer in base)


def test_arena_answers_judgments_and_win_rates(evaluated):
    ws, _ = evaluated
    for subject in (MODEL, MULTI_DPO):
        answers = pq.read_table(ws / f"results/arena/answers/{subject}/da.parquet").to_pandas()
        assert list(answers.prompt_id) == ["arena-001", "arena-002", "arena-003", "arena-004"]
        assert (answers.answer_tokens > 0).all() and (answers.subject == subject).all()
    judgments = pq.read_table(ws / "results/arena/judgments/dpo-vs-base/da.parquet").to_pandas()
    assert len(judgments) == 8 and judgments.groupby("prompt_id").model_is_first.nunique().eq(2).all()  # both orders
    assert set(judgments.verdict.dropna()) <= {"1", "2", "T"}
    result = json.loads((ws / "results/arena/winrates/dpo-vs-base/da.json").read_text())
    overall = result["overall"]
    assert overall["games"] + overall["unparseable"] == 8
    assert overall["wins"] + overall["ties"] + overall["losses"] == overall["games"]
    assert 0 <= overall["lc_win_rate"] <= 100 and len(overall["lc_win_rate_ci95"]) == 2
    assert set(result["by_subcategory"]) == {"poem", "story", "word_problem", "arithmetic"}
    assert result["model"] == MULTI_DPO and result["baseline"] == MODEL


def test_report_files_and_second_run(evaluated):
    ws, config = evaluated
    summary = (ws / "results/report/summary.html").read_text()
    # results first, then the data, the GPU-hours, the protocol last; what this config lacks is one line each
    order = ["(Table 1)", "(Figure 4)", "(Table 2)", "Not in this configuration", "Length bias", "GPU-hours", "Protocol:"]
    positions = [summary.index(heading) for heading in order]
    assert positions == sorted(positions), dict(zip(order, positions))
    absent = summary[summary.index("Not in this configuration") :].split("</p>")[0]
    assert "(Appendix G)</b>: no experiment sets curves." in absent and "(Figure 5)</b>" in absent
    assert "<img alt='checkpoint_curves'" not in summary and "<img alt='arena_adapters_lc_win_rates'" not in summary
    check_the_length_section(ws, summary)
    check_the_gpu_hours_against_the_logs(ws, config)
    check_the_cards(ws, config)
    # Table 2: the held-out language's dataset, the base absolute and every adapter evaluated there as a delta
    held_out = (ws / "results/report/euroeval_held_out.html").read_text()
    assert f"<th>{HELD_OUT_SET}</th>" in held_out and "<th colspan='1'>no</th>" in held_out
    assert held_out.count("<tr><td>") == 1 + 2 and "base (absolute)" in held_out  # base, multi DPO, multi Max-R
    assert "EuroEval on the held-out languages (Table 2)" in summary
    # Appendix B: every language's reference answers scored by the reward model
    for lang in ("en", "da"):
        refs = pq.read_table(ws / f"results/reference_scores/{lang}.parquet").to_pandas()
        assert len(refs) == 4 and (refs.language == lang).all() and refs.reward.notna().all()
    consistency = matplotlib.image.imread(ws / "results/report/reward_consistency.png")
    assert consistency.shape[1] > 1000 and consistency.std() > 0.05
    # the language section: the tiny model's own samples, identified; one table row per sampled language
    assert "Which language the samples are in" in summary
    language_table = (ws / "results/report/language_id.html").read_text()
    assert language_table.count("<tr><td>") == len(list((ws / "results/language_id").rglob("*.parquet"))) >= 2
    assert matplotlib.image.imread(ws / "results/report/language_id.png").std() > 0.05
    assert "Paired DPO" in summary and "Max-R" in summary and "dpo-vs-base" in summary
    scores = (ws / "results/report/euroeval_scores.csv").read_text().splitlines()
    assert len(scores) == 1 + 8 * 2  # header + 8 (subject, language) evaluations x 1 dataset x 2 metrics (primary first)
    assert ",no," in "\n".join(scores)  # the held-out language is in the table
    html = (ws / "results/report.html").read_text(errors="replace")
    assert len(html) > 100_000 and "summary.html" in html and "arena_lc_win_rates.png" in html
    again = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert again.returncode == 0 and work_jobs(again) == [], "a finished run (with its merged models gone) reruns nothing"


def check_the_length_section(ws, summary):
    """Every pair table's chosen and rejected lengths, recomputed here from the pair and generation tables."""
    import pandas as pd

    assert "<img alt='length_bias'" in summary and "Spearman" in summary
    pair_path = next((ws / "results/datasets").rglob("mono-da/dpo-*.parquet"))
    pairs = pq.read_table(pair_path).to_pandas()
    source = pair_path.parent.parent.name
    samples = pq.read_table(ws / f"results/generations/{source}/da.parquet").to_pandas().set_index(["prompt_id", "sample_index"])
    chosen = samples.loc[list(zip(pairs.prompt_id, pairs.chosen_sample)), "response_tokens"].to_numpy()
    rejected = samples.loc[list(zip(pairs.prompt_id, pairs.rejected_sample)), "response_tokens"].to_numpy()
    table = (ws / "results/report/length_bias.html").read_text()
    row = f"<tr><td>{pair_path.stem}</td><td>mono</td><td>da</td><td>{len(pairs)}</td>"
    assert row in table
    cells = table.split(row)[1].split("</tr>")[0]
    assert f"<td>{chosen.mean():.1f}</td><td>{rejected.mean():.1f}</td>" in cells
    assert f"<td>{100 * (chosen > rejected).mean():.0f}%</td>" in cells
    assert pd.notna(chosen.mean())


def check_the_cards(ws, config):
    """Every adapter and every dataset one trains on has its card, and huggingface_hub loads each."""
    import yaml
    from huggingface_hub import DatasetCard, ModelCard
    from snakemake.utils import validate

    from workflow_scripts.planning.plan import card_files

    settings = yaml.safe_load(config.read_text())
    validate(settings, str(ws / "schemas/config.schema.yaml"))
    cards = card_files(settings)
    assert len([c for c in cards if "/adapters/" in c]) == 8  # dpo and maxr, 3 mono scopes and 1 multi
    for path in cards:
        card = (ModelCard if "/cards/adapters/" in path else DatasetCard).load(ws / path)
        data = card.data.to_dict()
        assert data["language"] and data["croco"]["provenance"] and "croco" in data["tags"], path
        if "/cards/adapters/" in path:
            assert data["base_model"] == MODEL and data["license"] == "apache-2.0"


def check_the_gpu_hours_against_the_logs(ws, config):
    """The cost section's measured hours are the `finished in` times in the logs of the planned jobs."""
    import re

    import pandas as pd
    import yaml
    from snakemake.utils import validate

    from workflow_scripts.planning.cost import plan_jobs

    settings = yaml.safe_load(config.read_text())
    validate(settings, str(ws / "schemas/config.schema.yaml"))
    jobs = plan_jobs(settings, ws)
    rows = pd.read_csv(ws / "results/report/gpu_hours.csv").set_index("stage")
    for stage in ("generate", "train"):
        logs = [ws / job.log for job in jobs if job.stage == stage]
        seconds = [float(re.findall(r"finished in ([0-9.]+) s", log.read_text())[-1]) for log in logs]
        assert rows.loc[stage, "jobs_measured"] == len(logs) == rows.loc[stage, "jobs"] > 0
        assert rows.loc[stage, "hours_measured"] == pytest.approx(sum(seconds) / 3600)  # no GPU: wall time
        assert rows.loc[stage, "rate"] == "measured"
        assert rows.loc[stage, "gpu_hours_planned"] == pytest.approx(rows.loc[stage, "hours_measured"])  # all ran


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by envs/setup-cpu.sh")
def test_report_renders_in_headless_chromium(evaluated, tmp_path):
    ws, _ = evaluated
    summary = screenshot((ws / "results/report/summary.html").as_uri(), tmp_path / "summary.png", 3000)
    # Tables and plots make a varied page: many distinct colours, not a blank or an error page.
    assert summary.std() > 0.05
    assert len({tuple(px) for px in summary[::7, ::7, :3].reshape(-1, 3).round(2)}) > 50
    snakemake_report = screenshot((ws / "results/report.html").as_uri(), tmp_path / "snakemake-report.png", 1200)
    assert snakemake_report.std() > 0.05
    shutil.copy(tmp_path / "summary.png", ws / "results/summary-screenshot.png")
    shutil.copy(tmp_path / "snakemake-report.png", ws / "results/report-screenshot.png")


def test_rebuilding_one_language_leaves_the_others_alone(evaluated):
    ws, config = evaluated
    roots = plan_roots(ws, config, "en")
    assert roots == ["results/prompts/en.parquet"]  # English has no EuroEval datasets and no m-ArenaHard here
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config), "--forcerun", *roots)
    assert planned.returncode == 0, planned.stderr[-3000:]
    jobs = work_jobs(planned)
    outputs = [out for _, out in jobs]
    # English's samples and German's (translated from English), their monolingual adapters, and the multilingual
    # adapters with their evaluations; nothing of Danish alone
    assert all(
        (
            any(f"/{lang}." in out or f"/{lang}/shard-" in out or f"mono-{lang}" in out for lang in ("en", "de"))
            or "multi-da+de+en" in out
            or "dpo-vs-base" in out
            or out.startswith("results/report/")
        )
        for out in outputs
    ), outputs
    assert f"results/translations/{MODEL}/de.parquet" in outputs and not any("mono-da" in out for out in outputs)
    assert f"results/euroeval/{MULTI_DPO}.json" in outputs and f"results/euroeval/{MODEL}.json" not in outputs
    assert f"results/arena/answers/{MULTI_DPO}/da.parquet" in outputs
    assert f"results/arena/answers/{MODEL}/da.parquet" not in outputs


def test_rebuilding_an_evaluation_only_language_reruns_its_evaluations_only(evaluated):
    ws, config = evaluated
    roots = plan_roots(ws, config, "no")
    assert sorted(roots) == sorted([BASE_BATCH, MULTI_BATCH])  # the batches of the subjects evaluated in it
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config), "--forcerun", *roots)
    assert planned.returncode == 0, planned.stderr[-3000:]
    outputs = [out for _, out in work_jobs(planned)]
    # Nothing is sampled, scored or trained again: only the evaluations of the subjects evaluated in the held-out
    # language (each job evaluates the subject's other languages again, with identical results) and the report.
    assert all(out.startswith(("results/euroeval", "results/report/")) for out in outputs), outputs
    assert sorted(out for out in outputs if out.startswith("results/euroeval-batches/")) == sorted(roots)
    assert sorted(out for out in outputs if out.startswith("results/euroeval/")) == sorted(
        path for path, langs in EXPECTED_EUROEVAL.items() if "no" in langs
    )
