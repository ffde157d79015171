"""The GPU-hour plan (planning/cost.py, stages/report/cost.py), checked by hand on small grids: every count is
derived here from the config's numbers, every hour is the work over the table's throughput, and a job's logged
time replaces the assumption for its stage and model."""

import copy
import subprocess
import sys
import time

import pytest
from snakemake.utils import validate

from workflow_scripts.errors import UserError
from workflow_scripts.planning.cost import assumed_rate, cost_plan, model_size_b, plan_jobs, priced_jobs
from workflow_scripts.stages.report.cost import format_table, measured_times, stage_rows

from helpers import MODEL, REPO, load_default_config, paper_config


def demo(**changes) -> dict:
    config = copy.deepcopy(load_default_config())
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def by_stage(jobs):
    out = {}
    for job in jobs:
        out.setdefault(job.stage, []).append(job)
    return out


def test_the_demo_grid_counts_exactly():
    config = demo()
    stages = by_stage(plan_jobs(config, REPO))
    prompts, samples, langs = 24, 4, 3  # prompts.limit, generation.samples, languages
    prompt, response = 200, 32  # cost.lengths.prompt; the response's 600 capped at generation.max_tokens
    assert "translate" not in stages  # da and de come with translations
    generate = stages["generate"]
    assert len(generate) == langs and all(job.calls == prompts * samples for job in generate)
    assert generate[0].terms == (("prefill", MODEL, prompts * samples * prompt), ("decode", MODEL, prompts * samples * response))
    score = stages["score"]  # the samples, then each language's reference answers (600 tokens assumed)
    assert [job.calls for job in score] == [prompts * samples] * langs + [prompts] * langs
    assert sum(job.tokens("prefill") for job in score) == langs * prompts * (samples * (prompt + response) + prompt + 600)
    # 12 adapters (dpo, maxr, sft x 3 mono + 1 multi), each training.common.max_steps 4 x global batch 2 x 1 x 1
    train = stages["train"]
    assert len(train) == 12 and all(job.calls == 4 * 2 for job in train)
    dpo = [job for job in train if job.terms[0][0] == "train_dpo"]
    assert len(dpo) == 4 and dpo[0].tokens("train_dpo") == 8 * 2 * (prompt + response)
    sft = [job for job in train if job.terms[0][0] == "train_sft"]
    assert len(sft) == 8 and sft[0].tokens("train_sft") == 8 * (prompt + response)
    # EuroEval: 5 batch jobs; each (subject, language) scores every validation row of its 2 datasets 3 times
    euroeval = stages["euroeval"]
    assert len(euroeval) == 5
    subjects = 1 + 3 + 3  # per language: the base, its 3 monolingual adapters, the 3 multilingual ones
    rows = {
        lang: sum(len(open_rows(REPO / f"data/euroeval/demo-{k}-{lang}/val.csv")) for k in ("sentiment", "knowledge"))
        for lang in ("en", "da", "de")
    }
    expected = sum(subjects * 3 * rows[lang] for lang in rows)
    assert sum(job.calls for job in euroeval) == expected
    # m-ArenaHard: 3 subjects (2 adapters, the base) x 3 languages x 6 prompts; the judge: 2 comparisons x 3
    # languages x 6 prompts x both orders (the debiased protocol), one verdict token each (logprobs mode)
    assert sum(job.calls for job in stages["arena answers"]) == 3 * 3 * 6
    judge = stages["judge"]
    assert sum(job.calls for job in judge) == 2 * 3 * 6 * 2 == sum(job.tokens("decode") for job in judge)


def open_rows(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_shards_split_the_prompts_as_the_jobs_do():
    config = demo(prompts__limit=5, generation__shards=2, reward__shards=3)
    stages = by_stage(plan_jobs(config, REPO))
    # shard k of K covers [k*N/K, (k+1)*N/K): 5 prompts -> 2 and 3; 20 samples -> 6, 7, 7
    assert [job.calls for job in stages["generate"]][:2] == [2 * 4, 3 * 4]
    assert [job.calls for job in stages["score"]][:3] == [6, 7, 7]
    assert stages["generate"][1].log == f"logs/generate/{MODEL}/en/shard-1-of-2.log"


def test_hours_are_the_work_over_the_throughput():
    config = demo()
    table = config["cost"]["throughput"]["h100"]
    size = model_size_b(config, MODEL)
    assert size == pytest.approx(0.135)  # SmolLM2-135M, from the GGUF's file name
    decode = table["decode"]["tokens_per_second"] * table["decode"]["model_size_b"] / size
    assert assumed_rate(config, table, "decode", MODEL) == pytest.approx(decode)
    priced = priced_jobs(config, plan_jobs(config, REPO))
    generate = next(job for job in priced if job["stage"] == "generate")
    prefill = table["prefill"]["tokens_per_second"] * table["prefill"]["model_size_b"] / size
    by_hand = 96 * 200 / prefill + 96 * 32 / decode
    assert generate["assumed_gpu_seconds"] == pytest.approx(by_hand)
    rows = stage_rows(priced, {})
    generation = next(row for row in rows if row["stage"] == "generate")
    assert generation["gpu_hours_assumed"] == pytest.approx(3 * by_hand / 3600)
    assert generation["gpu_hours_planned"] == generation["gpu_hours_assumed"] and generation["rate"] == "assumed"


def test_a_jobs_logged_time_replaces_the_assumption_for_its_stage_and_model(tmp_path):
    config = demo()
    priced = priced_jobs(config, plan_jobs(config, REPO))
    generate = [job for job in priced if job["stage"] == "generate"]
    log = tmp_path / generate[0]["log"]
    log.parent.mkdir(parents=True)
    # what runtime/step.py writes around a step
    log.write_text("[croco] rule generate started: x\nnoise\n[croco] rule generate finished in 36.0 s\n")
    measured = measured_times(priced, tmp_path)
    assert measured == {generate[0]["log"]: 36.0}
    rows = {row["stage"]: row for row in stage_rows(priced, measured)}
    generation = rows["generate"]
    assert generation["jobs_measured"] == 1 and generation["hours_measured"] == pytest.approx(36 / 3600)
    # the three generation jobs have equal work: each now takes what the one that ran took
    assert generation["gpu_hours_planned"] == pytest.approx(3 * 36 / 3600) and generation["rate"] == "measured"
    assert rows["score"]["gpu_hours_planned"] == rows["score"]["gpu_hours_assumed"]  # no score job ran
    text = format_table(list(rows.values()), "h100", config["cost"]["throughput"]["h100"])
    assert "(measured rate)" in text and "MLPerf" in text


def test_a_model_of_unknown_size_is_named():
    config = demo()
    config["models"]["mystery"] = {"path": "/models/mystery"}
    config["reward"]["model"] = "mystery"
    with pytest.raises(UserError) as caught:
        cost_plan(config, REPO)
    assert caught.value.field == "models.mystery.size_b"
    config["models"]["mystery"]["size_b"] = 2.0
    assert cost_plan(config, REPO)["jobs"]


def test_an_unknown_gpu_kind_is_named():
    with pytest.raises(UserError, match="no throughput for GPU kind 'b200' \\(known: h100\\)"):
        cost_plan(demo(), REPO, "b200")


def test_the_paper_plan_counts_its_grid():
    config = paper_config()
    stages = by_stage(plan_jobs(config, REPO))
    # 10 machine-translated languages of 20,000 prompts; every generation shard of 2,500 prompts x 64 samples
    assert len(stages["translate"]) == 10 and {job.calls for job in stages["translate"]} == {20_000}
    assert {job.calls for job in stages["generate"] if "@samples" not in job.log} == {2_500 * 64}
    # the reward model scores in 8 shards of 160,000 samples
    assert {job.calls for job in stages["score"] if "shard-" in job.log and "@samples" not in job.log} == {160_000}
    assert {job.gpus for job in stages["judge"]} == {2}  # the judge's tensor_parallel_size


def test_the_paper_plan_prints_in_under_15_seconds():
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "workflow_scripts.planning.cost", "--configfile", "presets/paper.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.time() - started
    assert result.returncode == 0, result.stderr[-2000:]
    assert took < 15, took
    lines = result.stdout.splitlines()
    assert lines[0].startswith("GPU-hour plan of presets/paper.yaml")
    assert any(line.startswith("total") for line in lines) and "train_dpo: 3,860 tokens/s at 9B" in result.stdout


def test_the_command_counts_the_prompt_tables_the_report_only_its_inputs(tmp_path):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    config = demo()
    shutil.copytree(REPO / "data", tmp_path / "data")
    (tmp_path / "results/prompts").mkdir(parents=True)
    pq.write_table(pa.table({"prompt_id": ["a", "b", "c"]}), tmp_path / "results/prompts/en.parquet")
    generate = [job for job in plan_jobs(config, tmp_path) if job.stage == "generate"]
    assert generate[0].calls == 3 * 4  # the table the run made: 3 prompts
    # the report's spec: the input file's 24 (prompts.limit), so that it does not change once the tables exist
    generate = [job for job in plan_jobs(config, tmp_path, read_results=False) if job.stage == "generate"]
    assert generate[0].calls == 24 * 4
