"""docs/your-own.md, followed: French is added to the tests' tiny demo exactly as the page says (a provided
translation file, a local EuroEval dataset, a local m-ArenaHard prompt file, the comparison renamed to the new
pool); the dry run is clean (no error, no warning) and plans French's jobs through to its evaluations; a short
run makes French's prompts, samples, scores, pairs and a monolingual adapter. It extends a copy of the session's
tiny run: English, Danish and German are not made again."""

import json
import re
import shutil

import pyarrow.parquet as pq
import pytest

from helpers import MODEL, snakemake, tiny_config, work_jobs, write_config

FRENCH = {
    "demo-001": ("Écris une fonction Python qui renvoie une chaîne à l'envers.", "def reverse(s):\n    return s[::-1]"),
    "demo-002": ("Explique ce qu'est une compréhension de liste en Python.", "Une compréhension de liste crée une liste."),
    "demo-003": ("Comment trier une liste de nombres en Python ?", "Avec sorted(liste) ou liste.sort()."),
    "demo-004": ("Qu'est-ce qu'un dictionnaire en Python ?", "Une table qui associe des clés à des valeurs."),
}
ARENA_FR = [
    {
        "prompt_id": "arena-fr-1",
        "category": "creative_writing",
        "subcategory": "poem",
        "prompt": "Écris un poème de quatre vers sur la pluie.",
    },
    {"prompt_id": "arena-fr-2", "category": "math", "subcategory": "arithmetic", "prompt": "Combien font 17 fois 3 ?"},
]
POOL = f"{MODEL}/{MODEL}/multi-da+de+en+fr"
FRENCH_ADAPTER = f"results/adapters/{MODEL}/{MODEL}/mono-fr/maxr"


def write_my_data(ws):
    """The files a user brings (section 1 and 2 of the page)."""
    data = ws / "my-data"
    data.mkdir()
    lines = [json.dumps({"prompt_id": pid, "prompt": p, "reference": r}, ensure_ascii=False) for pid, (p, r) in FRENCH.items()]
    (data / "fr.jsonl").write_text("\n".join(lines) + "\n")
    (data / "arena-fr.jsonl").write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ARENA_FR))
    shutil.copytree(ws / "data/euroeval/demo-sentiment-en", data / "sentiment-fr")  # its labels are the task's


def my_config():
    """The demo (at the tests' tiny scale) with the page's edits, section by section."""
    c = tiny_config(evaluation=True)
    # 1. the language, from a provided file
    c["languages"] = ["en", "da", "de", "fr"]
    c["prompts"]["translations"]["fr"] = "my-data/fr.jsonl"
    # 2. its evaluation data: a local EuroEval dataset, local m-ArenaHard prompts, the comparisons' new pool
    euroeval = c["evaluation"]["euroeval"]
    euroeval["datasets"]["fr"] = ["my-sentiment-fr"]
    euroeval["custom_datasets"]["my-sentiment-fr"] = {
        "task": "sentiment-classification",
        "language": "fr",
        "dir": "my-data/sentiment-fr",
    }
    arena = c["evaluation"]["arena"]
    arena["languages"] = ["en", "da", "de", "fr"]
    arena["prompts"]["files"]["fr"] = "my-data/arena-fr.jsonl"
    for pair in arena["comparisons"].values():
        pair["model"] = pair["model"].replace(f"{MODEL}/{MODEL}/multi-da+de+en/", f"{POOL}/")
    return c


@pytest.fixture(scope="module")
def workspace(tiny_run_copy, tmp_path_factory):
    ws = tiny_run_copy(tmp_path_factory.mktemp("your-own") / "ws")
    write_my_data(ws)
    return ws, write_config(ws, my_config(), "my.yaml")


def test_the_dry_run_is_clean_and_plans_french_through_to_its_evaluations(workspace):
    ws, config = workspace
    planned = snakemake(ws, "-n", "--cores", "2", "--configfile", str(config))
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "WARNING [config]" not in planned.stderr and "Invalid config" not in planned.stderr
    outputs = {out for _, out in work_jobs(planned)}
    assert {"results/prompts/fr.parquet", f"results/generations/{MODEL}/fr.parquet", FRENCH_ADAPTER} <= outputs
    assert any(out.startswith("results/euroeval") and "mono-fr" in out for out in outputs)  # French datasets
    # one m-ArenaHard answer job per subject writes all its languages: French among them, for both sides
    for answers in (
        f"results/arena/answers/{MODEL}/fr.parquet",
        f"results/arena/answers/{POOL}/dpo-mean_minus_2sigma-chosen/fr.parquet",
    ):
        assert answers in planned.stdout + planned.stderr, answers


def test_a_short_run_makes_french_samples_pairs_and_an_adapter(workspace):
    ws, config = workspace
    result = snakemake(ws, FRENCH_ADAPTER, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    prompts = pq.read_table(ws / "results/prompts/fr.parquet").to_pandas()
    assert prompts.prompt_id.tolist() == list(FRENCH) and prompts.prompt.tolist() == [p for p, _ in FRENCH.values()]
    samples = pq.read_table(ws / f"results/generations/{MODEL}/fr.parquet").to_pandas()
    assert len(samples) == 4 * 3 and set(samples.prompt_id) == set(FRENCH)
    assert (ws / FRENCH_ADAPTER / "adapter_model.safetensors").stat().st_size > 0
    # nothing of the other languages was made again
    ran = {m.group(1) for m in re.finditer(r"^(?:local)?rule (\w+):$", result.stdout + result.stderr, re.MULTILINE)}
    assert ran <= {"prompt_set", "generate", "gather_generations", "score", "gather_scores", "preference_dataset", "train"}, ran
