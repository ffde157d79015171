"""Merge a LoRA adapter into its base model and save a plain model directory (EuroEval cannot take a
local adapter). Weights keep the base model's stored dtype, so small LoRA deltas are not rounded away."""
from __future__ import annotations

import json
from pathlib import Path

from workflow_scripts.atomic import atomic_directory
from workflow_scripts.models import loading_model, require_adapter_dir


def merge_step(snakemake) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = snakemake.params.spec
    adapter = Path(snakemake.input.adapter)
    require_adapter_dir(adapter)
    torch.set_num_threads(snakemake.threads)
    with loading_model(spec["model"], spec["revision"]):
        base = AutoModelForCausalLM.from_pretrained(spec["model"], revision=spec["revision"], dtype="auto")
        tokenizer = AutoTokenizer.from_pretrained(str(adapter) if (adapter / "tokenizer_config.json").is_file() else spec["model"])
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    with atomic_directory(snakemake.output[0]) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "croco_merge.json").write_text(json.dumps({"base": spec["model"], "adapter": str(adapter)}, indent=2) + "\n")
    print(f"[croco] merged {adapter} into {spec['model']}")
