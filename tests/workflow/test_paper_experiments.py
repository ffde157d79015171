"""The paper's experiments beyond Table 1, at tiny scale and for real: a low-resource language (Galician,
machine-translated by the tiny model) trained on alone with Paired DPO, Max-R and In-Lang SFT and judged on
m-ArenaHard in Galician against the base (Figure 5); offline and online DPO curve runs over two seeds with a
checkpoint evaluated by EuroEval (Appendix G); the report's new figures, rendered by headless Chromium. It extends
a copy of the session's tiny run (tests/conftest.py), whose Danish samples, scores and DPO adapter it reuses."""

import json

import matplotlib.image
import pyarrow.parquet as pq
import pytest

from helpers import CHROMIUM, MODEL, screenshot, snakemake, tiny_config, work_jobs, write_config

SEEDS = [1, 2]
LOW_RESOURCE = [  # Paired DPO, Max-R, In-Lang SFT on Galician alone
    f"{MODEL}/{MODEL}/mono-gl/dpo-mean_minus_2sigma-chosen",
    f"{MODEL}/{MODEL}/mono-gl/maxr",
    f"{MODEL}/translated/mono-gl/sft",
]
OFFLINE_RUN = f"{MODEL}/{MODEL}/mono-da/dpo-mean_minus_2sigma-chosen"
ONLINE_RUN = f"{MODEL}/{MODEL}/mono-da/online-dpo-mean_minus_2sigma"


def experiments_config():
    c = tiny_config(evaluation=True)
    c["languages"] = ["en", "da", "gl"]  # gl: no provided translation, the translate rule makes it
    c["experiments"] = {
        "low_resource": {
            "policy": MODEL,
            "languages": ["gl"],
            "regimes": ["mono"],
            "methods": ["dpo", "maxr", "sft"],
            "arena_baselines": [MODEL],
        },
        "online": {
            "policy": MODEL,
            "languages": ["da"],
            "regimes": ["mono"],
            "methods": ["dpo"],
            "curves": {"seeds": SEEDS, "online": True},
        },
    }
    c["training"]["curves"] = {"checkpoint_every": 2, "max_steps": 2}
    c["training"]["online"] = {"samples": 4, "max_new_tokens": 12}
    euroeval = c["evaluation"]["euroeval"]
    euroeval["datasets"] = {"da": ["demo-sentiment-da"]}
    euroeval["custom_datasets"] = {"demo-sentiment-da": euroeval["custom_datasets"]["demo-sentiment-da"]}
    euroeval["num_iterations"] = 2
    euroeval["batch"] = "subject"  # one EuroEval job per subject (the evaluation module runs batches of them)
    arena = c["evaluation"]["arena"]
    arena["languages"] = ["da"]  # no configured comparison: nothing is judged in it
    arena["prompts"]["files"] = {"gl": "data/arena/gl.jsonl"}
    arena["prompts"]["limit"] = 4
    arena["generation"]["max_tokens"] = 16
    arena["comparisons"] = {}
    arena["bootstrap_samples"] = 100
    return c


@pytest.fixture(scope="module")
def ran(tiny_run_copy, tmp_path_factory):
    ws = tiny_run_copy(tmp_path_factory.mktemp("experiments") / "ws")
    config = write_config(ws, experiments_config())
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert planned.returncode == 0, planned.stderr[-3000:]
    jobs = work_jobs(planned)
    result = snakemake(ws, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-8000:]
    return ws, config, jobs


def count(jobs, rule):
    return sum(1 for r, _ in jobs if r == rule)


def test_the_plan_has_the_new_experiments_jobs(ran):
    _, _, jobs = ran
    # Figure 5: three Galician adapters (the curve experiment's Danish DPO adapter is the tiny run's); they and the
    # base answer in Galician, one job each; one judge job per comparison
    assert count(jobs, "train") == 3 and count(jobs, "arena_answers_one") == 4 and count(jobs, "arena_judge_one") == 3
    assert count(jobs, "arena_answers") == 0 and count(jobs, "arena_judge") == 0  # no configured comparison
    # Appendix G: an offline and an online run per seed; EuroEval on the base, the Danish adapter and each run's
    # one checkpoint (none on the Galician adapters: EuroEval has no Galician data here)
    assert count(jobs, "train_curve") == 2 and count(jobs, "train_online") == 2
    assert count(jobs, "euroeval") == 1 + 1 + 2 * 2
    assert count(jobs, "translate") == 1 and count(jobs, "score_references") == 3
    # Danish was sampled, scored and paired by the tiny run; Galician is new
    assert [out for rule, out in jobs if rule == "generate"] == [f"results/generations/{MODEL}/gl/shard-0-of-1.parquet"]


def test_low_resource_adapters_are_judged_in_their_language(ran):
    ws, _, _ = ran
    translated = pq.read_table(ws / f"results/translations/{MODEL}/gl.parquet")
    assert translated.num_rows == 4
    for subject in LOW_RESOURCE:
        assert (ws / f"results/adapters/{subject}/adapter_config.json").is_file()
        comparison = f"{subject.replace('/', '.')}.vs.{MODEL}"
        answers = pq.read_table(ws / f"results/arena/answers/{subject}/gl.parquet").to_pandas()
        assert len(answers) == 4 and (answers.subject == subject).all()
        result = json.loads((ws / f"results/arena/winrates/{comparison}/gl.json").read_text())
        assert result["model"] == subject and result["baseline"] == MODEL and result["language"] == "gl"
        assert 0 <= result["overall"]["lc_win_rate"] <= 100 and len(result["overall"]["lc_win_rate_ci95"]) == 2
    assert not (ws / "results/arena/answers" / MODEL / "da.parquet").exists()  # only where a comparison needs it


def test_curve_runs_keep_their_checkpoints_and_each_is_evaluated(ran):
    ws, _, _ = ran
    for run in (OFFLINE_RUN, ONLINE_RUN):
        for seed in SEEDS:
            directory = ws / f"results/curves/{run}/seed-{seed}"
            assert (directory / "checkpoint-2/adapter_model.safetensors").is_file()
            assert not (directory / "adapter_model.safetensors").exists()  # the checkpoints are the run's adapters
            metrics = json.loads((directory / "training_metrics.json").read_text())
            assert metrics["checkpoints"] == [2]
            result = json.loads((ws / f"results/euroeval/{run}/seed-{seed}/step-2.json").read_text())
            assert list(result["languages"]) == ["da"]
    online = json.loads((ws / f"results/curves/{ONLINE_RUN}/seed-1/training_metrics.json").read_text())
    steps = [row for row in online["log_history"] if "online/scored" in row]
    # every step: 2 prompts x 4 samples generated by the policy and scored by the reward model
    assert len(steps) == 2 and all(0 < row["online/scored"] <= 8 for row in steps)  # the reward model scored them
    assert all(0 <= row["online/unpairable"] <= 2 for row in steps)
    assert any(row["online/unpairable"] < 2 for row in steps)  # and some prompt formed a pair to train on
    assert online["samples_per_prompt"] == 4 and online["method"] == "online-dpo"
    # on equal footing with its offline twin: the same training prompts (the twin's pair table less the same
    # held-out rows, in the same order) and the same global batch
    offline = json.loads((ws / f"results/curves/{OFFLINE_RUN}/seed-1/training_metrics.json").read_text())
    assert online["train_prompt_ids"] == offline["train_prompt_ids"] and len(offline["train_prompt_ids"]) >= 2
    assert online["global_batch_size"] == offline["global_batch_size"] == 2
    # two seeds train differently
    one, two = (ws / f"results/curves/{ONLINE_RUN}/seed-{s}/checkpoint-2/adapter_model.safetensors" for s in SEEDS)
    assert one.read_bytes() != two.read_bytes()


def test_report_holds_the_new_figures_and_renders(ran, tmp_path):
    ws, config, _ = ran
    summary = (ws / "results/report/summary.html").read_text()
    assert "(Figure 5)" in summary and "(Appendix G)" in summary and "(Appendix B)" in summary
    for name in ("arena_adapters_lc_win_rates.png", "checkpoint_curves.png", "reward_consistency.png"):
        image = matplotlib.image.imread(ws / "results/report" / name)
        assert image.shape[1] > 1000 and image.std() > 0.05, name
    table = (ws / "results/report/euroeval_deltas.html").read_text()
    assert "seed-" not in table and "Online DPO" not in table  # checkpoints are curves, not Table 1 rows
    check_the_values_behind_figure_5(ws)
    check_the_values_behind_appendix_g(ws)
    report = snakemake(ws, "--configfile", str(config), "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    if CHROMIUM:
        shot = screenshot((ws / "results/report/summary.html").as_uri(), tmp_path / "summary.png", 4000)
        assert shot.std() > 0.05
    again = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert again.returncode == 0 and work_jobs(again) == [], "a finished run reruns nothing"


def check_the_values_behind_figure_5(ws):
    """Each bar of Figure 5 is its comparison's LC win rate and interval, from the win-rate files."""
    import pandas as pd

    bars = pd.read_csv(ws / "results/report/arena_adapters_lc_win_rates.csv")
    assert len(bars) == len(LOW_RESOURCE) and set(bars["language"]) == {"gl"} and set(bars["baseline"]) == {MODEL}
    for bar in bars.itertuples():
        comparison = f"{bar.model.replace('/', '.')}.vs.{MODEL}"
        overall = json.loads((ws / f"results/arena/winrates/{comparison}/gl.json").read_text())["overall"]
        assert (bar.lc_win_rate, bar.lc_win_rate_ci95_low, bar.lc_win_rate_ci95_high) == pytest.approx(
            (overall["lc_win_rate"], *overall["lc_win_rate_ci95"])
        )
    assert set(bars["method"]) == {"Paired DPO (μ−2σ) mono", "Max-R mono", "In-Lang SFT mono"}


def check_the_values_behind_appendix_g(ws):
    """Each point of Appendix G is, per method and step, the mean over seeds of the checkpoint's EuroEval score
    minus the base's (recomputed here from the EuroEval files), and step 0 is the base (0)."""
    import numpy as np
    import pandas as pd

    points = pd.read_csv(ws / "results/report/checkpoint_curves.csv")
    assert set(points["method"]) == {"Paired DPO (μ−2σ)", "Online DPO (μ−2σ)"} and set(points["step"]) == {0, 2}

    def score(subject):
        entry = json.loads((ws / f"results/euroeval/{subject}.json").read_text())["languages"]["da"]["datasets"]
        return np.mean([d["metrics"][d["primary_metric"]]["score"] for d in entry.values()])

    base = score(MODEL)
    for run, method in ((OFFLINE_RUN, "Paired DPO (μ−2σ)"), (ONLINE_RUN, "Online DPO (μ−2σ)")):
        deltas = [score(f"{run}/seed-{seed}/step-2") - base for seed in SEEDS]
        row = points[(points["method"] == method) & (points["step"] == 2)].iloc[0]
        assert (row["mean"], row["std"], row["seeds"]) == pytest.approx((np.mean(deltas), np.std(deltas, ddof=1), 2))
        assert row["prompts"] == 2 * 2  # the figure's axis: step 2 x a global batch of 2
        start = points[(points["method"] == method) & (points["step"] == 0)].iloc[0]
        assert (start["mean"], start["std"]) == (0, 0)
