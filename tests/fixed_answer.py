"""Models built so that a test knows what they must answer: a LoRA adapter trained to saturation to give one
fixed answer to every user turn. Evaluating it must then show that answer, where the base model gives others;
a test that evaluated the base instead (or an adapter that barely moved, like the tiny run's one-step ones)
would fail."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch


def train_fixed_answer_adapter(
    base: Path, adapter_dir: Path, prompts: list[str], answer: str, steps: int = 40, lr: float = 2e-3
) -> float:
    """Train a LoRA adapter on `base` so that its chat model answers `answer` to each of `prompts` (and, by
    then, to nearly anything), and write it to `adapter_dir` (adapter_config.json and
    adapter_model.safetensors). When `adapter_dir` already holds an adapter_config.json, its LoRA settings
    (rank, alpha, target modules) are kept, so the weights replace a workflow adapter's in place. Returns the
    last step's loss (mean cross-entropy per answer token)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    keep_config = (adapter_dir / "adapter_config.json").is_file()
    if keep_config:
        config = LoraConfig.from_pretrained(adapter_dir)
        config.inference_mode, config.lora_dropout = False, 0.0
    else:
        config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")
    model = get_peft_model(model, config)

    rows, labels = [], []
    for prompt in prompts:
        head = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        rows.append(prompt_ids + answer_ids)
        labels.append([-100] * len(prompt_ids) + answer_ids)  # learn the answer, not the prompt
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    targets = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=attention, labels=targets).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    adapter_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        for name in ("adapter_model.safetensors",) if keep_config else ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy(Path(tmp) / name, adapter_dir / name)
    return loss.item()


def merge_into_model(base: Path, adapter_dir: Path, model_dir: Path) -> Path:
    """base + adapter, merged, as a Hugging Face model directory with the base's tokenizer and chat template."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter_dir)
    model.merge_and_unload().save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(model_dir)
    return model_dir
