"""Hugging Face cards (stages/cards.py, planning/specs/cards.py) for the demo's artifacts, read back with
huggingface_hub's card classes; and the publish command's refusals, which need no Hub."""

import copy
import os
import subprocess
import sys

import pytest
from huggingface_hub import DatasetCard, ModelCard
from snakemake.utils import validate

from workflow_scripts.planning.specs.cards import adapter_card_spec, dataset_card_spec
from workflow_scripts.stages.cards import adapter_card, checked, dataset_card

from helpers import MODEL, REPO, load_default_config

MULTI = "multi-da+de+en"
DPO = "dpo-mean_minus_2sigma-chosen"


@pytest.fixture(scope="module")
def config():
    c = copy.deepcopy(load_default_config())
    c["prompts"]["license"] = "cc-by-4.0"
    validate(c, str(REPO / "schemas/config.schema.yaml"))
    return c


def test_a_pair_tables_card_states_its_rule_sources_and_provenance(config):
    spec = dataset_card_spec(config, MODEL, MULTI, DPO)
    card = DatasetCard(checked(dataset_card(spec, {"prompts": 24, "pairs": 20}, 20), "dataset", spec))
    data = card.data.to_dict()
    assert data["language"] == ["da", "de", "en"] and sorted(data["license"]) == ["apache-2.0", "cc-by-4.0"]
    assert {"croco", "dpo", "preference", "multilingual"} <= set(data["tags"]) and data["size_categories"] == ["n<1K"]
    rule, provenance = data["croco"]["rule"], data["croco"]["provenance"]
    assert (rule["target"], rule["prompt_language"], rule["samples per prompt"], rule["temperature"]) == (
        "mean_minus_2sigma",
        "chosen",
        config["generation"]["samples"],
        config["models"][MODEL]["temperature"],
    )
    assert provenance["generator"].startswith("gguf:") and provenance["reward model"] == provenance["generator"]
    assert len(provenance["dataset spec hash"]) == 16 and "pyarrow" in provenance["software"]
    assert "| pairs | `20` |" in card.text


def test_an_adapters_card_names_its_base_data_and_hyperparameters(config):
    spec = adapter_card_spec(config, MODEL, MODEL, "mono-da", DPO + "@beta=0.2")
    card = ModelCard(checked(adapter_card(spec, {"examples": 20, "summary": {"train_loss": 0.5}}), "adapter", spec))
    data = card.data.to_dict()
    assert data["base_model"] == MODEL and data["library_name"] == "peft" and data["language"] == ["da"]
    assert data["license"] == "apache-2.0"  # the base model's; the data's licences are listed in the text
    rule = data["croco"]["rule"]
    assert rule["beta"] == 0.2 and rule["learning rate"] == config["training"]["dpo"]["learning_rate"]
    assert rule["data"].endswith(f"mono-da/{DPO}.parquet")  # the β variant trains on the plain pairs
    assert "base model (smollm2-135m): `apache-2.0`" in card.text and "| final train loss | `0.5` |" in card.text
    assert data["croco"]["provenance"]["base model"].startswith("gguf:")


def test_a_setting_the_card_states_changes_its_spec(config):
    other = copy.deepcopy(config)
    other["models"][MODEL]["license"] = "mit"
    assert dataset_card_spec(config, MODEL, MULTI, DPO) != dataset_card_spec(other, MODEL, MULTI, DPO)


def test_an_unlicensed_source_is_named_in_the_card():
    c = copy.deepcopy(load_default_config())
    validate(c, str(REPO / "schemas/config.schema.yaml"))
    spec = dataset_card_spec(c, "translated", "mono-da", "sft")
    card = dataset_card(spec, {"rows": 24}, 24)
    assert card.data.to_dict()["license"] == "unknown" and "No licence is configured for prompts" in str(card)


@pytest.fixture
def built(tmp_path):
    """An adapter directory and its card where the layout puts them, under a scratch working directory."""
    adapter = tmp_path / f"results/adapters/{MODEL}/{MODEL}/mono-da/{DPO}"
    adapter.mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    (adapter / "README.md").write_text("PEFT's template card")
    card = tmp_path / f"results/cards/adapters/{MODEL}/{MODEL}/mono-da/{DPO}/README.md"
    card.parent.mkdir(parents=True)
    card.write_text("---\nlicense: apache-2.0\n---\n# the card\n")
    return tmp_path, f"results/adapters/{MODEL}/{MODEL}/mono-da/{DPO}"


def run_publish(ws, *args, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return subprocess.run(
        [sys.executable, "-m", "workflow_scripts.publish", *args],
        cwd=ws,
        capture_output=True,
        text=True,
        env={**clean, "HF_HOME": str(ws / "hf-home"), "PYTHONPATH": str(REPO), **(env or {})},
        timeout=120,
    )


def test_publishing_without_a_token_refuses_in_one_line(built):
    ws, adapter = built
    result = run_publish(ws, adapter, "--repo", "someone/croco-adapter")
    assert result.returncode == 1
    assert result.stderr.strip() == "cannot publish: no Hugging Face token (set HF_TOKEN or run `hf auth login`)"


def test_publishing_with_the_hub_unreachable_refuses_in_one_line(built):
    ws, adapter = built
    env = {"HF_TOKEN": "hf_not_a_real_token", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = run_publish(ws, adapter, "--repo", "someone/croco-adapter", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("cannot publish: the Hub at http://127.0.0.1:9 is unreachable (")
    offline = run_publish(ws, adapter, "--repo", "someone/croco-adapter", env={**env, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 1 and "HF_HUB_OFFLINE is set" in offline.stderr


def test_a_dry_run_stages_the_adapter_with_its_card_as_readme(built):
    ws, adapter = built
    result = run_publish(ws, adapter, "--repo", "someone/croco-adapter", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "would publish to someone/croco-adapter (model): README.md, adapter_model.safetensors"
    (ws / f"results/cards/adapters/{MODEL}/{MODEL}/mono-da/{DPO}/README.md").unlink()
    missing = run_publish(ws, adapter, "--repo", "someone/croco-adapter", "--dry-run")
    assert missing.returncode == 1 and "its card results/cards/adapters/" in missing.stderr
    wrong = run_publish(ws, "results/somewhere", "--repo", "someone/x", "--dry-run")
    assert wrong.returncode == 1 and "not an adapter directory" in wrong.stderr
