"""Merge a LoRA adapter into its base model and save a plain model directory (EuroEval cannot take a
local adapter). Weights keep the base model's stored dtype, so small LoRA deltas are not rounded away."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.atomic import atomic_directory
from workflow_scripts.models import loading_model, require_adapter_dir
from workflow_scripts.specs import MERGE_PACKAGES, ModelRef, Spec, model_ref, software, step_code


@dataclass(frozen=True)
class MergeSpec(Spec):
    model: ModelRef  # the adapter's base
    software: dict  # versions of the packages that compute it
    code: str


def merge_spec(config: dict, policy: str) -> MergeSpec:
    return MergeSpec(model=model_ref(config, policy), software=software(MERGE_PACKAGES), code=step_code("merge"))


def merge_step(snakemake) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = MergeSpec.load(snakemake.params.spec)
    location, revision = spec.model.location, spec.model.revision
    adapter = Path(snakemake.input.adapter)
    require_adapter_dir(adapter)
    torch.set_num_threads(snakemake.threads)
    with loading_model(location, revision):
        base = AutoModelForCausalLM.from_pretrained(location, revision=revision, dtype="auto")
        tokenizer = AutoTokenizer.from_pretrained(str(adapter) if (adapter / "tokenizer_config.json").is_file() else location)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    with atomic_directory(snakemake.output[0]) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "croco_merge.json").write_text(json.dumps({"base": location, "adapter": str(adapter)}, indent=2) + "\n")
    print(f"[croco] merged {adapter} into {location}")
