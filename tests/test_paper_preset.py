"""The paper preset validates and dry-runs here, and its ablations share artifacts with the main runs."""
import re
import shutil
import subprocess
import time

import pytest

from helpers import make_workspace, snakemake, work_jobs


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
    # 6 translated languages; each of 2 generators samples and is scored once per language (in 8 shards),
    # although four EuroLLM experiments and the off-policy one use these samples.
    assert counts["translate"] == 6
    assert counts["generate"] == 14 * 8 and counts["score"] == 14 * 8
    assert counts["gather_generations"] == 14 and counts["gather_scores"] == 14
    adapters = [out for rule, out in jobs if rule == "train"]
    assert len(adapters) == len(set(adapters))
    # main runs: 7 mono + 1 multi scopes x (dpo, maxr, sft) per policy = 24 each; off-policy adds
    # 16 (its sft adapters are the main run's); prompt-language variants add 2; targets add 16.
    assert len(adapters) == 24 + 24 + 16 + 2 + 16
    assert "results/adapters/eurollm-9b/tiny-aya/multi-da+de+en+es+fr+it+nl/dpo-mean_minus_2sigma-chosen" in adapters
    assert not any("models/" in out for _, out in jobs)  # Hub models need no materialization
    # EuroEval: 2 bases x 7 languages; per policy 21 monolingual adapters on their own language and 3
    # multilingual ones on all 7; English-only adapters on all 7 (18 more); the ablations' new adapters.
    assert counts["euroeval"] == 14 + 42 + 42 + 18 + 14 + 28 + 28
    assert counts["merge_adapter"] == len(adapters)  # every adapter is evaluated somewhere
    # m-ArenaHard: 6 comparisons (Figure 4) x 7 languages; 6 distinct subjects answer each language once.
    assert counts["arena_judge"] == counts["arena_winrate"] == 42 and counts["arena_answers"] == 42
    assert counts["report"] == 1
    # GPUs per job: one engine per shard job, 8 training processes per adapter, 2 GPUs for the 35B judge.
    gpus = job_gpus(result.stdout)
    assert gpus["generate"] == gpus["score"] == gpus["translate"] == gpus["arena_answers"] == {1}
    assert gpus["arena_judge"] == {2} and gpus["train"] == {8} and gpus["euroeval"] == {1}
    assert gpus["gather_generations"] == gpus["preference_dataset"] == {0}
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
