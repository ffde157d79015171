"""LoRA training with TRL: DPO on pairs (the policy, adapter disabled, is its own reference) and SFT
with the loss on completions only (Max-R best-of-n, In-Lang / All-Lang translated data).

The adapter directory is written whole or not at all; it holds the adapter, `training_metrics.json`
and `training_curves.png`.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from workflow_scripts.atomic import atomic_directory
from workflow_scripts.errors import UserError


def precision_flags(precision: str) -> dict:
    import torch

    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    # TRL's configs default to bf16=True, which is several times slower on CPUs without AVX-512 BF16.
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def conversational_rows(table, method: str) -> list[dict]:
    cols = table.to_pydict()
    user = [[{"role": "user", "content": p}] for p in cols["prompt"]]
    if method == "dpo":
        return [{"prompt": u, "chosen": [{"role": "assistant", "content": c}], "rejected": [{"role": "assistant", "content": r}]}
                for u, c, r in zip(user, cols["chosen"], cols["rejected"])]
    return [{"prompt": u, "completion": [{"role": "assistant", "content": c}]} for u, c in zip(user, cols["completion"])]


def train_step(snakemake) -> None:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workflow_scripts.plots import training_curves

    spec = snakemake.params.spec
    data_path = snakemake.input.data
    table = pq.read_table(data_path)
    method = spec["method"]
    if table.num_rows == 0:
        raise UserError("the training dataset is empty (see its .stats.json for why no rows were formed)", file=str(data_path))
    common = spec["common"]
    lora = spec["lora"]
    flags = precision_flags(common["precision"])
    gpu = torch.cuda.is_available()
    checkpointing = gpu if common["gradient_checkpointing"] == "auto" else bool(common["gradient_checkpointing"])
    torch.set_num_threads(snakemake.threads)
    torch.manual_seed(common["seed"])
    tokenizer = AutoTokenizer.from_pretrained(spec["model"], revision=spec["revision"])
    dtype = torch.bfloat16 if flags["bf16"] else (torch.float16 if flags["fp16"] else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(spec["model"], revision=spec["revision"], dtype=dtype)
    peft_config = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                             target_modules=list(lora["target_modules"]), task_type="CAUSAL_LM")
    dataset = Dataset.from_list(conversational_rows(table, method))
    out_dir = Path(snakemake.output.adapter)
    with atomic_directory(out_dir) as tmp:
        args = dict(
            output_dir=str(tmp / "trainer"), num_train_epochs=common["epochs"], learning_rate=spec["learning_rate"],
            lr_scheduler_type=common["lr_scheduler"], warmup_steps=common["warmup_ratio"], weight_decay=common["weight_decay"],
            per_device_train_batch_size=common["per_device_batch_size"],
            gradient_accumulation_steps=common["gradient_accumulation_steps"], max_length=common["max_length"],
            max_steps=common["max_steps"] or -1, gradient_checkpointing=checkpointing, logging_steps=common["logging_steps"], save_strategy="no",
            report_to=[], seed=common["seed"], use_cpu=not gpu, **flags,
        )
        if method == "dpo":
            from trl import DPOConfig, DPOTrainer

            trainer = DPOTrainer(model=model, args=DPOConfig(beta=spec["beta"], **args), train_dataset=dataset,
                                 processing_class=tokenizer, peft_config=peft_config)
        else:
            from trl import SFTConfig, SFTTrainer

            trainer = SFTTrainer(model=model, args=SFTConfig(completion_only_loss=True, **args), train_dataset=dataset,
                                 processing_class=tokenizer, peft_config=peft_config)
        started = time.time()
        result = trainer.train()
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        metrics = {
            "method": method, "dataset": str(data_path), "examples": table.num_rows, "policy": spec["policy"],
            "policy_identity": spec["identity"], "train_runtime_s": time.time() - started,
            "summary": result.metrics, "log_history": trainer.state.log_history,
            "hyperparameters": {k: v for k, v in spec.items() if k not in ("code",)},
        }
        (tmp / "training_metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        training_curves(trainer.state.log_history, f"{spec['policy']} {method}: {data_path}", tmp / "training_curves.png")
        shutil.rmtree(tmp / "trainer", ignore_errors=True)  # trainer scratch, not part of the artifact
    print(f"[croco] adapter written to {out_dir} ({table.num_rows} examples)")
