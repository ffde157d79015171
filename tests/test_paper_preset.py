"""The paper preset validates and dry-runs here, and its ablations share artifacts with the main runs."""

import re
import shutil
import subprocess
import time

import pytest

from workflow_scripts.planning.layout import euroeval_batch, parse_subject
from workflow_scripts.planning.plan import euroeval_batches, euroeval_jobs, language_roots

from helpers import REPO, make_workspace, snakemake, work_jobs


def paper_config() -> dict:
    """The preset as the workflow sees it: validated, defaults filled in."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "presets/paper.yaml").read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def job_gpus(dry_run_output: str) -> dict[str, set[int]]:
    """rule -> the `gpu` resource values its jobs ask for (0: none), from a dry run's job listing."""
    gpus, rule = {}, None
    for line in dry_run_output.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            rule = line.split()[1][:-1]
        elif line.startswith("resources:") and rule:
            found = re.search(r"\bgpu=(\d+)", line)
            gpus.setdefault(rule, set()).add(int(found.group(1)) if found else 0)
            rule = None
    return gpus


def test_paper_preset_dry_runs_with_shared_artifacts(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    started = time.time()
    result = snakemake(ws, "-n", "--cores", "8", "--configfile", "presets/paper.yaml")
    elapsed = time.time() - started
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = work_jobs(result)
    counts = {}
    for rule, _ in jobs:
        counts[rule] = counts.get(rule, 0) + 1
    # The paper's prompts: one stratified sample of Dolci-Instruct-SFT; 6 + 4 low-resource translated languages.
    assert counts["sample_prompts"] == 1 and counts["translate"] == 10 and counts["prompt_set"] == 11
    # Each of 2 generators samples once per main language (in 8 shards), although four EuroLLM experiments and the
    # off-policy one share these samples; the language-instruction ablation samples EuroLLM again (+instructed);
    # EuroLLM samples the 4 low-resource languages.
    assert counts["generate"] == (21 + 4) * 8 and counts["score"] == (21 + 4) * 8
    assert counts["gather_generations"] == 25 and counts["gather_scores"] == 25
    assert counts["token_lengths"] == 2 * 11  # Figure 3: each policy's tokenizer on each language
    assert counts["score_references"] == 11  # Appendix B: the reward of every language's reference answers
    assert counts["language_id"] == 25  # the identified language of every sample, once per generation file
    adapters = [out for rule, out in jobs if rule == "train"]
    assert len(adapters) == len(set(adapters))
    # main runs: 7 mono + 1 multi scopes x (dpo, maxr, sft) per policy = 24 each; off-policy adds
    # 16 (its sft adapters are the main run's); prompt-language variants add 2; targets add 16; the
    # instruction ablation 8 (DPO, 7 mono + 1 multi); the low-resource languages 4 x 3 (Figure 5); the language
    # filter ablation 16 (DPO and Max-R, 7 mono + 1 multi, on in-language samples).
    assert len(adapters) == 24 + 24 + 16 + 2 + 16 + 8 + 12 + 16
    assert "results/adapters/eurollm-9b/tiny-aya/multi-da+de+en+es+fr+it+nl/dpo-mean_minus_2sigma-chosen" in adapters
    assert "results/adapters/eurollm-9b/eurollm-9b+instructed/mono-da/dpo-mean_minus_2sigma-chosen" in adapters
    assert "results/adapters/eurollm-9b/eurollm-9b/mono-da/dpo-mean_minus_2sigma-chosen+in_language" in adapters
    assert "results/adapters/eurollm-9b/eurollm-9b/multi-da+de+en+es+fr+it+nl/maxr+in_language" in adapters
    # Hub models need no materialization, only their resolved commit (one per model of the preset)
    assert "base_model" not in counts
    revisions = [out for rule, out in jobs if rule == "resolve_model"]
    assert all(out.endswith(".revision.json") for out in revisions) and "results/models/eurollm-9b.revision.json" in revisions
    assert len(revisions) == len(paper_config()["models"])
    # EuroEval on 7 training + 3 held-out languages (no, pt, sv: Table 2), one job per subject: the 2 bases
    # and every adapter (each is evaluated somewhere); a base or multilingual adapter in all 10 languages, a
    # monolingual one in its own (120 + 18 + ... (subject, language) evaluations, as planned by euroeval_jobs).
    # (The low-resource adapters have no EuroEval data.) Appendix G: 3 seeds x (offline, online) x 6 checkpoints
    # (every 50 of 300 steps), each evaluated in Danish.
    euroeval = {out for rule, out in jobs if rule == "euroeval"}
    assert counts["euroeval"] == 2 + len(adapters) - 12 + 36 and "results/euroeval/eurollm-9b.json" in euroeval
    evaluations = euroeval_jobs(paper_config())
    assert len(evaluations) == 20 + 2 * (21 + 30) + 18 + 2 * 10 + (14 + 20) + (14 + 20) + (7 + 10) + 36 + (14 + 20)
    online = "eurollm-9b/eurollm-9b/mono-da/online-dpo-mean_minus_2sigma"
    assert f"results/euroeval/{online}/seed-43/step-300.json" in euroeval
    assert counts["train_curve"] == 3 and counts["train_online"] == 3
    multi = "eurollm-9b/eurollm-9b/multi-da+de+en+es+fr+it+nl/dpo-mean_minus_2sigma-chosen"
    assert f"results/euroeval/{multi}.json" in euroeval
    for lang in ("no", "pt", "sv"):
        assert ("eurollm-9b", lang) in evaluations and (multi, lang) in evaluations
        assert not any("/mono-" in subject for subject, job_lang in evaluations if job_lang == lang)  # never trained on
    assert "merge_adapter" not in counts  # merged inside the EuroEval job
    # m-ArenaHard: 6 comparisons (Figure 4) x 7 languages; 6 distinct subjects answer, each in one job for
    # all 7 languages, and each comparison is judged in one job. Figure 5: 12 low-resource adapters against the
    # base and Gemma3-12B-it in their own language: 12 + 4 + 4 single-language answer jobs, 24 judge jobs.
    assert counts["arena_winrate"] == 42 + 24 and counts["arena_answers"] == 6 and counts["arena_judge"] == 6
    assert counts["arena_answers_one"] == 12 + 4 + 4 and counts["arena_judge_one"] == 24
    low = "eurollm-9b.eurollm-9b.mono-ga.dpo-mean_minus_2sigma-chosen.vs.gemma3-12b"
    assert ("arena_winrate", f"results/arena/winrates/{low}/ga.json") in jobs
    assert counts["report"] == 1
    # GPUs per job: one engine per shard job, 8 training processes per adapter, 2 GPUs for the 35B judge.
    gpus = job_gpus(result.stdout)
    assert gpus["generate"] == gpus["score"] == gpus["translate"] == gpus["arena_answers"] == {1}
    assert gpus["arena_judge"] == gpus["arena_judge_one"] == {2} and gpus["train"] == gpus["train_curve"] == {8}
    assert gpus["euroeval"] == gpus["arena_answers_one"] == {1}
    assert gpus["train_online"] == {1}  # the policy and the reward engine share one GPU
    assert gpus["gather_generations"] == gpus["preference_dataset"] == gpus["sample_prompts"] == {0}
    print(f"paper preset dry run: {len(jobs)} jobs in {elapsed:.1f} s")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is installed by envs/setup-cpu.sh")
@pytest.mark.parametrize("flag", ["--rulegraph", "--dag"])
def test_the_plan_draws_as_svg(tmp_path, flag):
    ws = make_workspace(tmp_path / "ws")
    result = snakemake(ws, flag)
    assert result.returncode == 0, result.stderr[-2000:]
    svg = subprocess.run(["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True, check=True).stdout
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for rule in ("generate", "score", "train", "euroeval", "arena_judge", "report"):
        assert rule in svg


def test_paper_preset_runs_the_authors_protocol():
    """The preset, validated and filled in as the workflow does, states the authors' settings where the report
    shows them (the same function renders the report's protocol table)."""
    from workflow_scripts.planning.config_checks import check_config
    from workflow_scripts.planning.plan import protocol_settings

    config = paper_config()
    check_config(config, REPO)
    settings = {(stage, key): value for stage, key, value in protocol_settings(config)}
    expected = {
        ("prompts", "source"): "allenai/Dolci-Instruct-SFT: 20000 stratified by domain, seed 42",
        ("translation", "max_tokens"): "8192",
        ("translation", "max_input_tokens"): "8192",
        ("translation", "too_long"): "drop",
        ("generation", "samples per prompt"): "64",
        ("generation", "temperature (eurollm-9b)"): "1.0",
        ("generation", "temperature (tiny-aya)"): "1.0",
        ("generation", "max_tokens"): "4096",
        ("generation", "top_p"): "1.0",
        (
            "generation",
            "language instruction",
        ): "'Please respond in {language} and nothing else.' in eurollm_language_instruction",
        ("reward", "max_length"): "32768",
        ("reward", "empty_responses"): "score",
        ("training", "seed"): "42",
        ("training", "eval_fraction"): "0.01",
        ("EuroEval", "split"): "test",
        ("EuroEval", "num_iterations"): "3",
        ("EuroEval", "few_shot"): "True",
        ("EuroEval", "environment"): ".venv-euroeval/bin/python",
        ("m-ArenaHard", "prompts"): "CohereLabs/m-ArenaHard-v2.1",
        ("m-ArenaHard", "answers"): "max_tokens 8192, temperature 0.0, tiny-aya: 0.1",
        ("m-ArenaHard", "judge protocol"): "paper",
        ("m-ArenaHard", "judge orders"): "random",
        ("m-ArenaHard", "judge temperature"): "0.7",
        ("m-ArenaHard", "judge max_tokens"): "4096",
    }
    assert {key: settings.get(key) for key in expected} == expected
    assert config["models"]["skywork-reward-v2"]["max_model_len"] == 32768
    assert config["models"]["qwen3.6-35b-a3b"]["max_model_len"] == 32768
    assert config["engine"]["max_model_len"] is None  # the policies' own context, as the authors' engines
    # the only experiment whose samples carry the instruction is the ablation
    assert [name for name, exp in config["experiments"].items() if exp["language_instruction"]] == [
        "eurollm_language_instruction"
    ]


def test_one_experiment_has_its_own_targets():
    """`python -m workflow_scripts.planning.plan targets <experiment>`: what builds just that experiment (README's table)."""
    from workflow_scripts.planning.plan import experiment_targets

    config = paper_config()
    low = experiment_targets(config, "eurollm_low_resource")
    assert sum(t.startswith("results/adapters/") for t in low) == 12
    assert sum(t.startswith("results/arena/winrates/") and ".mono-" in t for t in low) == 24  # Figure 5
    assert "results/arena/winrates/eurollm-base-vs-gemma3-12b/da.json" in low  # its policy's configured comparison
    assert not any(t.startswith("results/curves/") for t in low)
    online = experiment_targets(config, "eurollm_online")
    assert sum(t.startswith("results/curves/") for t in online) == 6
    assert sum("/seed-" in t and t.startswith("results/euroeval/") for t in online) == 36
    with pytest.raises(Exception, match="no experiment 'nope'"):
        experiment_targets(config, "nope")


def test_euroeval_batches_partition_the_subjects_by_scope():
    """Under `evaluation.euroeval.batch: scope` every subject is in exactly one batch with its base model; a
    language's rebuild forces the batches of its subjects, nothing else."""
    config = paper_config()
    config["evaluation"]["euroeval"]["batch"] = "scope"
    batches = euroeval_batches(config)
    subjects = list(dict.fromkeys(subject for subject, _ in euroeval_jobs(config)))
    assert sorted(s for members in batches.values() for s in members) == sorted(subjects)
    for batch, members in batches.items():
        assert all(euroeval_batch(s) == batch for s in members)
        assert len({parse_subject(s)[0] for s in members}) == 1  # one base model per batch
    assert batches["eurollm-9b"] == ["eurollm-9b"]
    mono_da = batches["eurollm-9b/mono-da"]  # every method and source of one scope
    assert {"eurollm-9b/translated/mono-da/sft", "eurollm-9b/eurollm-9b+instructed/mono-da/dpo-mean_minus_2sigma-chosen"} <= set(
        mono_da
    )
    curve = batches["eurollm-9b/eurollm-9b/mono-da/online-dpo-mean_minus_2sigma/seed-43"]
    assert [s.rsplit("/", 1)[1] for s in curve] == [f"step-{step}" for step in range(50, 301, 50)]
    held_out = language_roots(config, "no")
    assert "results/euroeval-batches/eurollm-9b.json" in held_out
    assert "results/euroeval-batches/eurollm-9b/multi-da+de+en+es+fr+it+nl.json" in held_out
    assert all(root.startswith("results/euroeval-batches/") and "/mono-" not in root for root in held_out)
    assert "results/euroeval-batches/eurollm-9b.json" in language_roots(config, "da")
