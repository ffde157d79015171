"""Planning the real workflow without running it: every planned artifact is a layout template, the paper preset
dry-runs with shared artifacts and the right GPUs, the plan draws, the lint is clean, and planning prints no
caching noise without a cache."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from workflow_scripts.planning import layout
from workflow_scripts.planning.plan import euroeval_jobs

from helpers import REPO, make_workspace, paper_config, snakemake, work_jobs

TEMPLATES = [
    value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str) and value.startswith("results/")
]
TEMPLATES += list(layout.REPORT_FILES.values())


def template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+(?:/[^/]+)*", re.escape(template)) + "$")


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


def test_every_planned_artifact_is_a_layout_template(tmp_path):
    """The demo and the paper preset plan only files whose paths layout.py defines."""
    ws = make_workspace(tmp_path / "ws")
    patterns = [template_regex(t) for t in TEMPLATES]
    for args in ([], ["--configfile", "presets/paper.yaml"]):
        result = snakemake(ws, "-n", "--cores", "2", *args)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs = [out for _, out in work_jobs(result)]
        assert outputs
        unknown = [out for out in outputs if not any(p.match(out) for p in patterns)]
        assert unknown == []


def test_snakemake_lint_finds_nothing_but_the_environment_directive(tmp_path):
    """No mixed rules and functions, no undeclared environment variables, no long run blocks. The one lint
    left asks for a conda environment or container per rule: the environments are envs/ (see the README)."""
    ws = make_workspace(tmp_path / "ws")
    result = snakemake(ws, "--lint")
    findings = [line.strip() for line in result.stdout.splitlines() + result.stderr.splitlines() if line.strip().startswith("* ")]
    assert findings and all(f.startswith("* Specify a conda environment or container") for f in findings), findings


def test_planning_prints_no_caching_noise_without_a_cache(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    result = snakemake(ws, "-n", "--cores", "1")
    assert result.returncode == 0
    assert "eligible for caching" not in result.stdout + result.stderr
    cached = snakemake(ws, "-n", "--cores", "1", env={"SNAKEMAKE_OUTPUT_CACHE": str(tmp_path / "cache")})
    assert "eligible for caching" in cached.stdout + cached.stderr  # with a cache set up, Snakemake says which rules use it
    assert Path(REPO / "pyproject.toml").is_file()


def training_data_of(adapter: str) -> str:
    """An adapter's training data (a variant's adapters share their plain dataset's)."""
    _, _, policy, source, scope, dataset = adapter.split("/", 5)
    return layout.training_data(source, scope, dataset)


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
    # EuroLLM samples the 4 low-resource languages; ICR's own sampling (10 samples, temperature 0.9, 2,400 tokens)
    # and MAPO's (20, 0.8, 512) for both policies in de, en, es, fr, never scored by the reward model: the
    # baselines rank by their own rewards (ICR: those 8 and EuroLLM's main samples in the 4 languages for the
    # ablation; MAPO: de, es, fr against en).
    assert counts["generate"] == (21 + 4 + 8 + 8) * 8 and counts["score"] == (21 + 4) * 8
    assert counts["gather_generations"] == 41 and counts["gather_scores"] == 25
    assert counts["implicit_rewards"] == 8 + 4 and counts["alignment_rewards"] == 2 * 3
    assert counts["token_lengths"] == 2 * 11  # Figure 3: each policy's tokenizer on each language
    assert counts["score_references"] == 11  # Appendix B: the reward of every language's reference answers
    assert counts["language_id"] == 25 + 8 + 6  # the identified language of every sample, once per generation file
    adapters = [out for rule, out in jobs if rule == "train"]
    assert len(adapters) == len(set(adapters))
    # main runs: 7 mono + 1 multi scopes x (dpo, maxr, sft) per policy = 24 each; off-policy adds
    # 16 (its sft adapters are the main run's); prompt-language variants add 2; targets add 16; the
    # instruction ablation 8 (DPO, 7 mono + 1 multi); the low-resource languages 4 x 3 (Figure 5); the language
    # filter ablation 16 (DPO and Max-R, 7 mono + 1 multi, on in-language samples); ICR 3 (both policies on
    # ICR's sampling, EuroLLM on CroCo's samples); MAPO 2 (multi-de+es+fr, both policies); the rejection sweep 5
    # (its mean − 2σ, Q1 and min multilingual adapters are the targets experiment's); length control 8.
    assert len(adapters) == 24 + 24 + 16 + 2 + 16 + 8 + 12 + 16 + 3 + 2 + 5 + 8
    assert "results/adapters/eurollm-9b/eurollm-9b/multi-da+de+en+es+fr+it+nl/dpo-mean_minus_1.5sigma-chosen" in adapters
    assert "results/adapters/eurollm-9b/eurollm-9b/mono-da/dpo-mean_minus_2sigma-chosen+length_controlled" in adapters
    # every adapter has its card, and every dataset one trains on
    assert counts["adapter_card"] == len(adapters) and counts["dataset_card"] == len({training_data_of(a) for a in adapters})
    assert "results/adapters/tiny-aya/tiny-aya@max_tokens=512@samples=20@temperature=0.8/multi-de+es+fr/mapo" in adapters
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
    assert len(evaluations) == (
        20 + 2 * (21 + 30) + 18 + 2 * 10 + (14 + 20) + (14 + 20) + (7 + 10) + 36 + (14 + 20) + 5 * 10 + 5 * 10 + (7 + 10)
    )
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
    # The rejection sweep: its 8 multilingual adapters against the base in 7 languages (the mean − 2σ one answers in
    # its Figure 4 job).
    assert counts["arena_winrate"] == 42 + 24 + 8 * 7 and counts["arena_answers"] == 6 and counts["arena_judge"] == 6
    assert counts["arena_answers_one"] == 12 + 4 + 4 + 7 * 7 and counts["arena_judge_one"] == 24 + 8 * 7
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
