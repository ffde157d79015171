"""What EuroEval evaluates for an adapter is the adapter: the merged model's weights are the base's plus the LoRA
delta (scaling × B·A) on every adapted layer, and differ from the base's there, while the layers the adapter does
not touch keep the base's bytes."""

import json

import pytest
import torch
from safetensors.torch import load_file

from workflow_scripts.runtime.spec import ModelRef
from workflow_scripts.stages.euroeval.merge import merge_adapter

ALPHA, RANK = 32, 16


@pytest.fixture(scope="module")
def adapter(materialized_model, tmp_path_factory):
    """A LoRA adapter on the real base model with random, non-zero A and B (a trained adapter's shape)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    directory = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(materialized_model, dtype=torch.float32)
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=["q_proj", "down_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(directory)
    return directory


def weights(directory) -> dict[str, torch.Tensor]:
    found = {}
    for path in sorted(directory.glob("*.safetensors")):
        found.update(load_file(path))
    return found


def test_the_merged_weights_are_the_base_plus_the_lora_delta(materialized_model, adapter, tmp_path):
    merged_dir = tmp_path / "merged"
    merged_dir.mkdir()
    merge_adapter(ModelRef(str(materialized_model), None, "test", {}), adapter, merged_dir, threads=1)
    base, merged, lora = weights(materialized_model), weights(merged_dir), weights(adapter)
    assert json.loads((merged_dir / "croco_merge.json").read_text())["adapter"] == str(adapter)
    scaling = ALPHA / RANK
    adapted = [name for name in base if name.endswith(("q_proj.weight", "down_proj.weight"))]
    assert len(adapted) == 2 * 30  # SmolLM2-135M: 30 layers, two adapted projections each
    for name in adapted:
        prefix = "base_model.model." + name.removesuffix(".weight")
        a, b = lora[f"{prefix}.lora_A.weight"], lora[f"{prefix}.lora_B.weight"]
        expected = base[name] + scaling * (b @ a)
        assert torch.allclose(merged[name], expected, atol=1e-5), name
        assert (merged[name] - base[name]).abs().max() > 1e-3, name  # the adapter moved this layer
    untouched = [name for name in base if name not in adapted]
    assert untouched and all(torch.equal(merged[name], base[name]) for name in untouched)
