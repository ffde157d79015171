"""A Hub model is identified by the commit its revision resolves to, not by its branch name: resolved when the
workflow is planned (from the local cache when the Hub is out of reach, as here), recorded as an artifact,
loaded at that commit (the two snapshots tokenize differently, so the counts tell which one a job loaded), and an
upstream update of the branch reruns what uses the model, which then loads the new commit."""

import json
import shutil

import pytest

from helpers import MODEL, snakemake, tiny_config, work_jobs, write_config

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
HUB_MODEL = "smollm2-hub"
COMMITS = ("1" * 40, "2" * 40)
TARGET = f"results/token_lengths/{HUB_MODEL}/en.parquet"


@pytest.fixture(scope="module")
def hub(seeded_workspace, tmp_path_factory):
    """A workspace, and a Hugging Face cache holding two snapshots of the demo model, `main` pointing at the first.
    The second's tokenizer writes every "e" four times, so the commit a job loaded shows in its token counts."""
    ws = seeded_workspace(tmp_path_factory.mktemp("hub"))
    cache = tmp_path_factory.mktemp("hf") / "hub"
    repo = cache / f"models--{HUB_ID.replace('/', '--')}"
    for commit in COMMITS:
        shutil.copytree(ws / "results/models" / MODEL, repo / "snapshots" / commit, ignore=shutil.ignore_patterns("croco_*"))
    tokenizer = repo / "snapshots" / COMMITS[1] / "tokenizer.json"
    described = json.loads(tokenizer.read_text())
    described["normalizer"] = {"type": "Replace", "pattern": {"String": "e"}, "content": "eeee"}
    tokenizer.write_text(json.dumps(described))
    (repo / "refs").mkdir()
    (repo / "refs/main").write_text(COMMITS[0])
    c = tiny_config()
    c["models"][HUB_MODEL] = {"hub": HUB_ID}  # revision: main
    c["experiments"]["hub"] = {"policy": HUB_MODEL, "languages": ["en"], "methods": ["sft"], "regimes": ["mono"]}
    config = write_config(ws, c, "hub.yaml")
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    return ws, config, repo, env


def loaded_commit(ws, repo) -> str:
    """Which snapshot's tokenizer counted the target's tokens (their counts differ: see the fixture)."""
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    table = pq.read_table(ws / TARGET)
    prompts = pq.read_table(ws / "results/prompts/en.parquet").column("prompt").to_pylist()
    counts = {}
    for commit in COMMITS:
        tokenizer = AutoTokenizer.from_pretrained(repo / "snapshots" / commit)
        counts[commit] = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    assert counts[COMMITS[0]] != counts[COMMITS[1]]  # the two snapshots can be told apart
    found = [commit for commit, values in counts.items() if values == table.column("prompt_tokens").to_pylist()]
    assert len(found) == 1, found
    return found[0]


def test_the_revision_is_resolved_recorded_and_loaded(hub):
    ws, config, repo, env = hub
    result = snakemake(ws, TARGET, "--cores", "1", "--configfile", str(config), env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    record = json.loads((ws / f"results/models/{HUB_MODEL}.revision.json").read_text())
    assert record == {"model": HUB_MODEL, "hub": HUB_ID, "revision": "main", "commit": COMMITS[0], "resolved_from": "local cache"}
    assert loaded_commit(ws, repo) == COMMITS[0]  # its tokenizer loaded offline, at that commit
    log = (ws / f"logs/resolve_model/{HUB_MODEL}.log").read_text()
    assert f"{HUB_ID}@main is commit {COMMITS[0]} (local cache)" in log


def test_an_update_of_the_branch_reruns_what_uses_the_model(hub):
    ws, config, repo, env = hub
    assert work_jobs(snakemake(ws, TARGET, "-n", "--configfile", str(config), env=env)) == []
    (repo / "refs/main").write_text(COMMITS[1])  # upstream pushed new weights to main
    try:
        jobs = work_jobs(snakemake(ws, TARGET, "-n", "--configfile", str(config), env=env))
        planned_all = work_jobs(snakemake(ws, "-n", "--configfile", str(config), env=env))
        rerun = snakemake(ws, TARGET, "--cores", "1", "--configfile", str(config), env=env)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert loaded_commit(ws, repo) == COMMITS[1]  # the new commit, recorded and loaded
    finally:
        (repo / "refs/main").write_text(COMMITS[0])
    assert sorted(rule for rule, _ in jobs) == ["resolve_model", "token_lengths"]  # not the prompts
    # everything the model is used for depends on its recorded revision
    uses = {out for rule, out in planned_all if rule in ("train", "token_lengths") and HUB_MODEL in out}
    assert uses and all(HUB_MODEL in out for out in uses)


def test_a_revision_nobody_can_resolve_stops_before_any_step_loads_it(hub):
    ws, config, repo, env = hub
    c = tiny_config()
    c["models"]["unknown-hub"] = {"hub": "nobody/nothing"}
    c["experiments"]["hub"] = {"policy": "unknown-hub", "languages": ["en"], "methods": ["sft"], "regimes": ["mono"]}
    other = write_config(ws, c, "unknown.yaml")
    target = "results/token_lengths/unknown-hub/da.parquet"
    planned = snakemake(ws, target, "-n", "--configfile", str(other), env=env)
    assert planned.returncode == 0  # planning works without the Hub
    result = snakemake(ws, target, "--cores", "1", "--configfile", str(other), env=env)
    assert result.returncode != 0
    error = [line for line in result.stderr.splitlines() if "[croco] ERROR in rule resolve_model" in line]
    assert (
        error
        and "field 'models.unknown-hub.revision'" in error[0]
        and "cannot resolve nobody/nothing at revision main" in error[0]
    )
    assert "Traceback" not in result.stderr
    assert not (ws / target).exists() and not (ws / "results/models/unknown-hub.revision.json").exists()
