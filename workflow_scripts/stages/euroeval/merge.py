"""Merge a LoRA adapter into its base model and save a plain model directory (EuroEval cannot take a
local adapter). Weights keep the base model's stored dtype, so small LoRA deltas are not rounded away.

The merged copy is made inside the EuroEval job that reads it (one job per subject, all its languages) and
deleted when the job ends: a full model per adapter is never kept, and no job exists only to write one."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from workflow_scripts.runtime.models import loading_model, require_adapter_dir
from workflow_scripts.runtime.spec import ModelRef


def merge_adapter(model: ModelRef, adapter: Path, dest: Path, threads: int) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    require_adapter_dir(adapter)
    torch.set_num_threads(threads)
    with loading_model(model.location, model.revision):
        base = AutoModelForCausalLM.from_pretrained(model.location, revision=model.revision, dtype="auto")
        source = str(adapter) if (adapter / "tokenizer_config.json").is_file() else model.location
        tokenizer = AutoTokenizer.from_pretrained(source, revision=None if source == str(adapter) else model.revision)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    (dest / "croco_merge.json").write_text(json.dumps({"base": model.location, "adapter": str(adapter)}, indent=2) + "\n")
    print(f"[croco] merged {adapter} into {model.location}", flush=True)


@contextlib.contextmanager
def merged_model(model: ModelRef, adapter: Path, next_to: Path, threads: int) -> Iterator[Path]:
    """A merged copy beside `next_to` (the results file system holds full models; /tmp often cannot),
    removed when the block ends, also when it fails. A copy left by a killed job is replaced."""
    dest = next_to.with_name(next_to.name + ".merged-model")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    try:
        merge_adapter(model, adapter, dest, threads)
        yield dest
    finally:
        shutil.rmtree(dest, ignore_errors=True)
