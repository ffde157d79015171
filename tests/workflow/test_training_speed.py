"""The training step's speed settings at tiny scale on a CPU, with real TRL: padding-free SFT micro-batches give
the padded loss; a per-device batch set after the trainer is built keeps the global batch; the GPU-only
settings leave CPU training as it was; a tiny DPO run still learns; the GPU benchmark refuses a CPU."""

import copy
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from workflow_scripts.errors import UserError
from workflow_scripts.planning.specs.training import training_spec
from workflow_scripts.stages.training.tracking import Tracking
from workflow_scripts.stages.training.train import (
    TrainingSpec,
    build_trainer,
    conversational_rows,
    liger_enabled,
    load_policy,
    padding_free_enabled,
    set_per_device_batch,
    train,
)

from helpers import REPO, load_default_config, worker_cores

PROMPTS = [
    "Name a colour.",
    "Write one sentence about the sea, please, and keep it short and calm.",
    "What is two plus two?",
    "Give me a word that rhymes with cat and explain in a few words why it rhymes.",
    "Say hello in Danish.",
    "List three fruits.",
    "How many legs does a spider have?",
    "Describe a tree in a long sentence with several clauses, adjectives and a comparison to a house.",
]


def spec_for(model_dir, method: str, **common) -> TrainingSpec:
    from snakemake.utils import validate

    config = copy.deepcopy(load_default_config())
    config["models"]["smollm2-135m"] = {"path": str(model_dir)}
    defaults = dict(max_steps=2, max_length=96, eval_fraction=0.0, per_device_batch_size="auto", gradient_accumulation_steps=4)
    config["training"]["common"].update({**defaults, **common})
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return training_spec(config, "smollm2-135m", "sft" if method == "sft" else "dpo-mean_minus_2sigma-chosen")


def sft_rows():
    completions = [f"Answer {i}: " + "word " * (3 + 5 * i) for i in range(len(PROMPTS))]
    return conversational_rows(pa.table({"prompt": PROMPTS, "completion": completions}), "sft")


def test_padding_free_sft_gives_the_padded_loss(materialized_model, tmp_path):
    from datasets import Dataset

    spec = spec_for(materialized_model, "sft")
    tokenizer, model = load_policy(spec)
    trainer, settings = build_trainer(spec, model, tokenizer, Dataset.from_list(sft_rows()), None, tmp_path)
    assert settings["padding_free"] is False  # auto: GPU only
    rows = [trainer.train_dataset[i] for i in range(4)]  # rows of different lengths
    losses, shapes = [], []
    model.eval()
    for padding_free in (False, True):
        trainer.data_collator.padding_free = padding_free  # what build_trainer sets on a GPU
        batch = trainer._prepare_inputs(trainer.data_collator(rows))
        with torch.no_grad():
            losses.append(trainer.compute_loss(model, batch).item())
        shapes.append(tuple(batch["input_ids"].shape))
    assert shapes[0][0] == 4 and shapes[1][0] == 1
    assert shapes[1][1] == sum(len(r["input_ids"]) for r in rows) < shapes[0][0] * shapes[0][1]  # no pad tokens
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)


def test_a_per_device_batch_set_on_the_trainer_keeps_the_global_batch(materialized_model, tmp_path):
    from datasets import Dataset

    spec = spec_for(materialized_model, "sft")
    tokenizer, model = load_policy(spec)
    trainer, _ = build_trainer(spec, model, tokenizer, Dataset.from_list(sft_rows()), None, tmp_path)
    assert (trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps) == (1, 4)  # auto on a CPU
    with pytest.raises(ValueError):
        set_per_device_batch(trainer, 3)
    set_per_device_batch(trainer, 2)
    assert (trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps) == (2, 2)
    assert next(iter(trainer.get_train_dataloader()))["input_ids"].shape[0] == 2
    trainer.train()
    # 2 optimizer steps of 2 passes of 2 examples: all 8 rows seen once, as with 4 passes of 1
    assert trainer.state.global_step == 2 and trainer._total_train_tokens == sum(
        len(r) for r in trainer.train_dataset["input_ids"]
    )


def test_the_gpu_settings_leave_cpu_training_as_it_was(materialized_model):
    spec = spec_for(materialized_model, "dpo")
    assert liger_enabled(spec.common, gpu=False) is False and padding_free_enabled(spec.common, "sft", gpu=False) is False
    assert (
        padding_free_enabled(spec.common, "sft", gpu=True) is True and padding_free_enabled(spec.common, "dpo", gpu=True) is False
    )
    forced = spec_for(materialized_model, "dpo", liger_kernel=True)
    with pytest.raises(UserError) as err:
        liger_enabled(forced.common, gpu=False)
    assert err.value.field == "training.common.liger_kernel" and "CUDA GPU" in str(err.value)


def test_a_tiny_dpo_run_learns_records_its_throughput_and_reports_to_trackers(materialized_model, tmp_path, monkeypatch):
    chosen = [
        "Red.",
        "The sea is calm and blue.",
        "Four.",
        "Hat: both end in -at.",
        "Hej!",
        "Apple, pear, plum.",
        "Eight.",
        "A tall oak.",
    ]
    rejected = ["I don't know.", "No.", "Five.", "Dog.", "Hello.", "Carrots.", "Six.", "Nothing."]
    data = tmp_path / "pairs.parquet"
    pq.write_table(
        pa.table({"prompt_id": [f"p{i}" for i in range(8)], "prompt": PROMPTS, "chosen": chosen, "rejected": rejected}), data
    )
    spec = spec_for(materialized_model, "dpo", max_steps=6, logging_steps=1, gradient_accumulation_steps=2)
    spec = TrainingSpec.load({**spec.params(), "learning_rate": 5e-4})
    # tracked (training.report_to) by TensorBoard and by W&B offline, as a job would be
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    tracking = Tracking(["tensorboard", "wandb"], str(tmp_path / "tracking"), "results/adapters/m/m/mono-da/dpo")
    train(spec, str(data), tmp_path / "adapter", threads=worker_cores(), tracking=tracking)
    metrics = json.loads((tmp_path / "adapter/training_metrics.json").read_text())
    check_the_trackers(tmp_path / "tracking", tracking.run_name, metrics, spec)
    losses = [row["loss"] for row in metrics["log_history"] if "loss" in row]
    assert len(losses) == 6 and all(loss == loss and abs(loss) < 100 for loss in losses)  # finite
    assert sum(losses[-2:]) < sum(losses[:2])  # decreasing over a few steps
    speed = metrics["throughput"]
    assert speed["tokens"] > 0 and speed["tokens_per_second"] > 0 and speed["peak_memory_gib"] > 0.1
    assert (speed["per_device_batch_size"], speed["gradient_accumulation_steps"]) == (1, 2)
    assert speed["liger_kernel"] is False and speed["padding_free"] is False


def check_the_trackers(directory, run_name, metrics, spec):
    """TensorBoard's event file holds the losses the metrics hold, and the spec; W&B's offline run its name and
    the spec as config. Nothing of them is in the adapter."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory / "tensorboard" / run_name), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    logged = [event.value for event in events.Scalars("train/loss")]
    assert logged == pytest.approx([row["loss"] for row in metrics["log_history"] if "loss" in row])
    config_text = events.Tensors("model_config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert f'"croco/learning_rate": {spec.learning_rate}' in config_text and '"croco/lora/r": 16' in config_text
    runs = list((directory / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    # the offline run's record file (protobuf records, strings stored as they are): its name and the spec
    record = next(runs[0].glob("run-*.wandb")).read_bytes()
    assert run_name.encode() in record and b"croco/beta" in record and spec.model.identity.encode() in record
    assert b"train/loss" in record


def test_the_gpu_benchmark_refuses_a_cpu_and_runs_at_tiny_shapes(materialized_model, tmp_path):
    script = str(REPO / "benchmarks/train_gpu.py")
    refused = subprocess.run([sys.executable, script], capture_output=True, text=True, cwd=REPO)
    assert refused.returncode == 2 and "needs a CUDA GPU" in refused.stderr
    smoke = subprocess.run(
        [sys.executable, script, "--cpu-smoke", "--steps", "1", "--tokenizer", str(materialized_model), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert smoke.returncode == 0, smoke.stdout[-2000:] + smoke.stderr[-3000:]
    assert "tokens/s" in smoke.stdout and "preset" in smoke.stdout and "tuned" in smoke.stdout
    rows = json.loads((tmp_path / "results.json").read_text())
    assert {row["method"] for row in rows} == {"dpo", "sft"} and all(row["tokens_per_second"] > 0 for row in rows)


def test_the_gpu_check_refuses_a_cpu_in_one_line_and_checks_padding_free_at_tiny_shapes(materialized_model, tmp_path):
    """benchmarks/gpu_check.py, the one command for a GPU machine: here it refuses; its CPU smoke computes the padded
    and the padding-free SFT loss of one batch through the project's trainer, each in its own process, and
    compares them."""
    script = str(REPO / "benchmarks/gpu_check.py")
    refused = subprocess.run([sys.executable, script], capture_output=True, text=True, cwd=REPO)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1 and "needs an NVIDIA GPU" in refused.stderr
    smoke = subprocess.run(
        [sys.executable, script, "--cpu-smoke", "--tokenizer", str(materialized_model), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert smoke.returncode == 0, smoke.stdout[-2000:] + smoke.stderr[-3000:]
    verdict = [line for line in smoke.stdout.splitlines() if "padding-free SFT = padded SFT" in line]
    assert verdict and verdict[0].startswith("ok") and "relative" in verdict[0]
    losses = [line for line in smoke.stdout.splitlines() if line.startswith("loss sft-")]
    assert len(losses) == 2 and "'padding_free': True" in losses[1] and "'padding_free': False" in losses[0]
