"""LoRA training with TRL: DPO on pairs (the policy, adapter disabled, is its own reference) and SFT
with the loss on completions only (Max-R best-of-n, In-Lang / All-Lang translated data).

The adapter directory is written whole or not at all; it holds the adapter, `training_metrics.json`
and `training_curves.png`. With `training.common.processes` > 1 the step launches that many data-parallel
processes (accelerate on GPUs; torchrun with gloo on a CPU) running `train`, and rank 0 writes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.names import checkpoint_name
from workflow_scripts.runtime.atomic import atomic_directory
from workflow_scripts.runtime.models import loading_model
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.step import child_env, run_worker
from workflow_scripts.stages.training.tracking import (
    NO_TRACKING,
    Tracking,
    attach_run_config,
    finish_trackers,
    tracking_arguments,
)


@dataclass(frozen=True)
class LoraSettings(Spec):
    r: int
    alpha: float
    dropout: float
    target_modules: list


@dataclass(frozen=True)
class TrainingSettings(Spec):
    """training.common, every key of the schema (a key added there and not here fails at planning)."""

    epochs: float
    max_steps: int | None
    lr_scheduler: str
    warmup_ratio: float
    weight_decay: float
    max_length: int
    per_device_batch_size: object  # int | auto (chosen by memory on a GPU, 1 on a CPU)
    gradient_accumulation_steps: int
    memory_fraction: float  # per_device_batch_size auto: the GPU share a training step may take
    processes: int  # resolved: `auto` is the job's GPUs (1 without)
    gradient_checkpointing: object  # auto | true | false
    liger_kernel: object  # auto | true | false
    padding_free: object  # auto | true | false (SFT)
    precision: str
    seed: int
    logging_steps: int
    eval_fraction: float
    eval_steps: int | None


@dataclass(frozen=True)
class TrainingSpec(Spec):
    model: ModelRef
    policy: str
    method: str  # dpo | maxr | sft
    learning_rate: float
    beta: float | None  # DPO only
    nll_weight: float  # DPO only: weight of an NLL term on the chosen responses (ICR's; TRL's "sft" loss), 0: none
    lora: LoraSettings
    common: TrainingSettings
    software: dict  # versions of the packages that compute it
    code: str


@dataclass(frozen=True)
class CurveSpec(Spec):
    """A curve run (training.curves): the adapter's training with the run's seed and max_steps, keeping the
    adapter at every checkpoint step."""

    training: TrainingSpec
    checkpoints: list  # the steps whose adapters the run keeps, as checkpoint-<step>/
    code: str


def checkpoint_callback(steps: list[int], directory: Path):
    """A TrainerCallback writing the adapter (only) into `directory`/checkpoint-<step>/ at each of `steps`."""
    from transformers import TrainerCallback

    class KeepCheckpoints(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step in steps and state.is_world_process_zero:
                target = directory / checkpoint_name(state.global_step)
                model.save_pretrained(target)
                sort_target_modules(target / "adapter_config.json")
                print(f"[croco] checkpoint at step {state.global_step}: {target.name}", flush=True)

    return KeepCheckpoints()


def precision_flags(precision: str) -> dict:
    import torch

    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    # TRL's configs default to bf16=True, which is several times slower on CPUs without AVX-512 BF16.
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def load_policy(spec: TrainingSpec):
    """(tokenizer, model) of the policy, in the training precision."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    flags = precision_flags(spec.common.precision)
    dtype = torch.bfloat16 if flags["bf16"] else (torch.float16 if flags["fp16"] else torch.float32)
    location, revision = spec.model.location, spec.model.revision
    with loading_model(location, revision):
        tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
        model = AutoModelForCausalLM.from_pretrained(location, revision=revision, dtype=dtype)
    return tokenizer, model


def lora_config(lora: LoraSettings):
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )


def liger_enabled(common: TrainingSettings, gpu: bool) -> bool:
    """Whether TRL applies Liger's kernels: `auto` where they run (a CUDA GPU, the package installed)."""
    import importlib.util

    installed = importlib.util.find_spec("liger_kernel") is not None
    if common.liger_kernel == "auto":
        return gpu and installed
    if common.liger_kernel and not (gpu and installed):
        why = "a CUDA GPU (they are Triton kernels)" if not gpu else "the liger-kernel package (envs/requirements-gpu.txt)"
        raise UserError(f"liger_kernel: true needs {why}", field="training.common.liger_kernel")
    return bool(common.liger_kernel)


def padding_free_enabled(common: TrainingSettings, method: str, gpu: bool) -> bool:
    """Whether SFT micro-batches are packed end to end without padding (TRL 1.16 has padding-free DPO disabled)."""
    if method == "dpo":
        return False
    return gpu if common.padding_free == "auto" else bool(common.padding_free)


def trainer_arguments(spec: TrainingSpec, output_dir: Path, tracking: Tracking = NO_TRACKING) -> dict:
    """The TrainingArguments every trainer here shares (TRL's configs extend them); the trainer's scratch
    directory is `output_dir`, never part of an artifact. A per_device_batch_size of `auto` starts at 1
    (`fit_per_device_batch` may raise it once the trainer is built)."""
    import torch

    common = spec.common
    gpu = torch.cuda.is_available()
    per_device = 1 if common.per_device_batch_size == "auto" else common.per_device_batch_size
    return dict(
        output_dir=str(output_dir),
        learning_rate=spec.learning_rate,
        lr_scheduler_type=common.lr_scheduler,
        warmup_steps=common.warmup_ratio,
        weight_decay=common.weight_decay,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=common.gradient_accumulation_steps,
        max_length=common.max_length,
        max_steps=common.max_steps or -1,
        gradient_checkpointing=gpu if common.gradient_checkpointing == "auto" else bool(common.gradient_checkpointing),
        logging_steps=common.logging_steps,
        save_strategy="no",
        **tracking_arguments(tracking),
        seed=common.seed,
        use_cpu=not gpu,
        **precision_flags(common.precision),
    )


def row_lengths(dataset) -> list[int]:
    """Tokens of each prepared training row as a batch holds it: SFT's input_ids; DPO's prompt with the longer
    of its two responses (the collator pads chosen and rejected to one length)."""
    if "input_ids" in dataset.column_names:
        return [len(ids) for ids in dataset["input_ids"]]
    prompts, chosen, rejected = dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"]
    return [len(p) + max(len(c), len(r)) for p, c, r in zip(prompts, chosen, rejected)]


def set_per_device_batch(trainer, per_device: int) -> None:
    """Split the trainer's per-process batch (per-device batch x accumulation) into `per_device` examples per
    pass and the accumulation that keeps the same global batch."""
    args = trainer.args
    per_process = args.per_device_train_batch_size * args.gradient_accumulation_steps
    if per_process % per_device:
        raise ValueError(f"a per-device batch of {per_device} does not divide the per-process batch of {per_process}")
    args.per_device_train_batch_size = per_device
    args.gradient_accumulation_steps = per_process // per_device
    trainer._train_batch_size = args.train_batch_size  # what the Trainer's dataloader reads (set at construction)


def fit_per_device_batch(trainer, memory_fraction: float) -> tuple[int, list[str]]:
    """The largest per-device batch (a divisor of the per-process batch) whose forward and backward pass on the
    dataset's longest rows peaks under `memory_fraction` of the GPU's memory, measured with the trainer's own
    collator, loss, kernels and checkpointing; with what was tried, for the log. GPU only."""
    import torch

    args, model = trainer.args, trainer.model
    per_process = args.per_device_train_batch_size * args.gradient_accumulation_steps
    lengths = row_lengths(trainer.train_dataset)
    longest = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    budget = memory_fraction * torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    if args.gradient_checkpointing and not getattr(model, "is_gradient_checkpointing", True):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs)
    model.train()
    tried = []
    for size in sorted((d for d in range(2, per_process + 1) if per_process % d == 0), reverse=True):
        if size > len(lengths):
            continue
        peak, loss = None, None
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            batch = trainer._prepare_inputs(trainer.data_collator([trainer.train_dataset[i] for i in longest[:size]]))
            with trainer.compute_loss_context_manager():
                loss = trainer.compute_loss(model, batch)
            loss.backward()
            peak = torch.cuda.max_memory_allocated()
        except torch.cuda.OutOfMemoryError:
            pass
        finally:
            model.zero_grad(set_to_none=True)
            batch = loss = None
            torch.cuda.empty_cache()
        tried.append(f"{size}: {'out of memory' if peak is None else f'{peak / 2**30:.1f} GiB'}")
        if peak is not None and peak <= budget:
            break
    else:
        size = 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # every process must take the same batch (the same number of passes per step): the smallest any chose
        chosen = torch.tensor([size], device=torch.device("cuda", torch.cuda.current_device()))
        torch.distributed.all_reduce(chosen, op=torch.distributed.ReduceOp.MIN)
        size = int(chosen.item())
    # the probe's forward passes are not training: TRL's token count and logged metrics start from zero
    if hasattr(trainer, "_total_train_tokens"):
        trainer._total_train_tokens = 0
    if hasattr(trainer, "_metrics"):
        for values in trainer._metrics.values():
            values.clear()
    return size, tried


def peak_memory_gib(gpu: bool) -> float:
    """The training's peak memory: allocated on the GPU, or this process's resident set on a CPU."""
    import resource

    import torch

    if gpu:
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def conversational_rows(table, method: str) -> list[dict]:
    cols = table.to_pydict()
    user = [[{"role": "user", "content": p}] for p in cols["prompt"]]
    if method == "dpo":
        return [
            {"prompt": u, "chosen": [{"role": "assistant", "content": c}], "rejected": [{"role": "assistant", "content": r}]}
            for u, c, r in zip(user, cols["chosen"], cols["rejected"])
        ]
    return [{"prompt": u, "completion": [{"role": "assistant", "content": c}]} for u, c in zip(user, cols["completion"])]


def held_out_split(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train rows, held-out rows): ceil(fraction * n) rows drawn with `seed` are held out for evaluation, as
    the authors held out 1% (at least one row is left to train on; fraction 0 holds out none)."""
    import math

    import numpy as np

    held = min(math.ceil(fraction * n), n - 1) if fraction > 0 and n > 1 else 0
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def sort_target_modules(config_path: Path) -> None:
    """PEFT saves target_modules from a set, in an order that changes with Python's hash seed; sorted,
    two identical trainings write identical adapter directories."""
    config = json.loads(config_path.read_text())
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def nll_term(weight: float) -> dict:
    """DPOConfig's losses: the sigmoid DPO loss, plus with a weight the mean NLL of the chosen responses' tokens
    (TRL's "sft" loss; RPO, and ICR's DPO with an NLL term)."""
    return {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, weight]} if weight else {}


def build_trainer(
    spec: TrainingSpec, model, tokenizer, dataset, eval_dataset, scratch: Path, checkpoints=None, tracking: Tracking = NO_TRACKING
):
    """TRL's DPO or SFT trainer for one adapter, set up for the hardware: Liger kernels, padding-free SFT
    micro-batches and the per-device batch (training.common's `auto`s resolved); with those choices."""
    import torch

    common, method = spec.common, spec.method
    gpu = torch.cuda.is_available()
    liger = liger_enabled(common, gpu)
    base = trainer_arguments(spec, scratch / "trainer", tracking)
    attach_run_config(model, tracking, spec.params())
    args = dict(
        **base,
        use_liger_kernel=liger,
        num_train_epochs=common.epochs,
        per_device_eval_batch_size=base["per_device_train_batch_size"],
        eval_strategy="steps" if eval_dataset is not None and common.eval_steps else "no",
        eval_steps=common.eval_steps,
        ddp_find_unused_parameters=False,  # LoRA: every trainable parameter is used; saves a graph traversal
    )
    if method == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(beta=spec.beta, **args, **nll_term(spec.nll_weight)),
            train_dataset=dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer,
            peft_config=lora_config(spec.lora),
            callbacks=[checkpoint_callback(checkpoints, scratch)] if checkpoints else None,
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(completion_only_loss=True, **args),
            train_dataset=dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer,
            peft_config=lora_config(spec.lora),
        )
    padding_free = padding_free_enabled(common, method, gpu)
    if padding_free:
        # TRL truncated the rows to max_length while preparing them (its own padding-free mode would not);
        # from here its collator joins each micro-batch into one row with restarting position ids
        trainer.data_collator.padding_free = True
        trainer.padding_free = True
    tried = []
    if common.per_device_batch_size == "auto" and gpu:
        per_device, tried = fit_per_device_batch(trainer, common.memory_fraction)
        set_per_device_batch(trainer, per_device)
    return trainer, {"liger_kernel": liger, "padding_free": padding_free, "per_device_batch_tried": tried}


def train(
    spec: TrainingSpec,
    data_path: str,
    out_dir: Path,
    threads: int,
    checkpoints: list[int] | None = None,
    tracking: Tracking = NO_TRACKING,
) -> None:
    """Train one adapter. Under a distributed launch every process runs this; only rank 0 writes. With
    `checkpoints` (a curve run), the adapters of those steps are kept as checkpoint-<step>/ instead of the last."""
    import torch
    from datasets import Dataset

    from workflow_scripts.stages.training.curves import training_curves

    table = pq.read_table(data_path)
    method = spec.method
    if table.num_rows == 0:
        raise UserError("the training dataset is empty (see its .stats.json for why no rows were formed)", file=str(data_path))
    common = spec.common
    torch.set_num_threads(threads)
    torch.manual_seed(common.seed)
    tokenizer, model = load_policy(spec)
    rows = conversational_rows(table, method)
    train_rows, eval_rows = held_out_split(len(rows), common.eval_fraction, common.seed)
    dataset = Dataset.from_list([rows[i] for i in train_rows])
    eval_dataset = Dataset.from_list([rows[i] for i in eval_rows]) if eval_rows else None
    ids = table.column("prompt_id").to_pylist() if "prompt_id" in table.column_names else None
    eval_ids = [ids[i] for i in eval_rows] if ids else eval_rows
    rank = int(os.environ.get("RANK", 0))
    with atomic_directory(out_dir) if rank == 0 else tempfile.TemporaryDirectory(prefix="croco-rank-") as tmp:
        tmp = Path(tmp)
        trainer, settings = build_trainer(spec, model, tokenizer, dataset, eval_dataset, tmp, checkpoints, tracking)
        gpu = torch.cuda.is_available()
        world = trainer.accelerator.num_processes
        per_device = trainer.args.per_device_train_batch_size
        accumulation = trainer.args.gradient_accumulation_steps
        batch = per_device * accumulation * world
        if rank == 0:
            tried = (
                f" (per-device batch: tried {settings['per_device_batch_tried']})" if settings["per_device_batch_tried"] else ""
            )
            print(
                f"[croco] {method} on {len(train_rows)} examples ({len(eval_rows)} held out for evaluation): "
                f"{world} process(es) x {per_device} per device x {accumulation} accumulation = global batch {batch}"
                f"{tried}; Liger kernels {'on' if settings['liger_kernel'] else 'off'}, "
                f"padding-free {'on' if settings['padding_free'] else 'off'}",
                flush=True,
            )
        if gpu:
            torch.cuda.reset_peak_memory_stats()
        started = time.time()
        result = trainer.train()
        train_seconds = time.time() - started
        finish_trackers(tracking)
        tokens = getattr(trainer, "_total_train_tokens", None)  # TRL's count of non-padding tokens, all processes
        throughput = {
            "tokens": tokens,
            "tokens_per_second": tokens / train_seconds if tokens else None,
            "peak_memory_gib": peak_memory_gib(gpu),
            "peak_memory_of": "GPU (torch max_memory_allocated, rank 0)" if gpu else "process resident set (rank 0)",
            "per_device_batch_size": per_device,
            "gradient_accumulation_steps": accumulation,
            **settings,  # liger_kernel, padding_free, per_device_batch_tried
        }
        final_eval = trainer.evaluate() if eval_dataset is not None else {}  # logged into log_history too
        if not trainer.is_world_process_zero():
            return
        if not checkpoints:
            trainer.model.save_pretrained(tmp)
            sort_target_modules(tmp / "adapter_config.json")
        tokenizer.save_pretrained(tmp)
        metrics = {
            "method": method,
            "dataset": str(data_path),
            "examples": table.num_rows,
            "policy": spec.policy,
            "train_examples": len(train_rows),
            "train_prompt_ids": [table.column("prompt_id")[i].as_py() for i in train_rows]
            if "prompt_id" in table.column_names
            else train_rows,
            "eval_examples": len(eval_rows),
            "eval_prompt_ids": eval_ids,
            "final_eval": final_eval,
            "policy_identity": spec.model.identity,
            "train_runtime_s": train_seconds,
            "throughput": throughput,
            "processes": world,
            "global_batch_size": batch,
            "summary": result.metrics,
            "checkpoints": list(checkpoints or []),
            "log_history": trainer.state.log_history,
            "hyperparameters": {k: v for k, v in spec.params().items() if k not in ("code",)},
        }
        (tmp / "training_metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        training_curves(trainer.state.log_history, f"{spec.policy} {method}: {data_path}", tmp / "training_curves.png")
        shutil.rmtree(tmp / "trainer", ignore_errors=True)  # trainer scratch, not part of the artifact
        if throughput["tokens_per_second"]:
            print(
                f"[croco] {throughput['tokens_per_second']:,.0f} tokens/s over {tokens:,} tokens; peak memory "
                f"{throughput['peak_memory_gib']:.1f} GiB ({throughput['peak_memory_of']})",
                flush=True,
            )
    print(f"[croco] {'checkpoints' if checkpoints else 'adapter'} written to {out_dir} ({table.num_rows} examples)")


def launch_command(processes: int, gpu: bool, port: int) -> list[str]:
    """accelerate's multi-GPU launcher; on a CPU (tests) torchrun, which that launcher wraps, with gloo."""
    if gpu:
        return [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_machines",
            "1",
            "--num_processes",
            str(processes),
            "--main_process_port",
            str(port),
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "workflow_scripts.stages.training.train",
        ]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        str(processes),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(port),
        "-m",
        "workflow_scripts.stages.training.train",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_step(snakemake) -> None:
    spec = TrainingSpec.load(snakemake.params.spec)
    out_dir = Path(snakemake.output.adapter)
    run_training(spec, snakemake.input.data, out_dir, snakemake.threads, None, Tracking.from_config(snakemake.config, out_dir))


def train_curve_step(snakemake) -> None:
    spec = CurveSpec.load(snakemake.params.spec)
    out_dir = Path(snakemake.output.run)
    tracking = Tracking.from_config(snakemake.config, out_dir)
    run_training(spec.training, snakemake.input.data, out_dir, snakemake.threads, spec.checkpoints, tracking)


def run_training(
    spec: TrainingSpec,
    data: str,
    out_dir: Path,
    threads: int,
    checkpoints: list[int] | None = None,
    tracking: Tracking = NO_TRACKING,
) -> None:
    """`train` in this process, or in `training.common.processes` data-parallel processes."""
    import torch

    processes = spec.common.processes
    if processes == 1:
        train(spec, data, out_dir, threads, checkpoints, tracking)
        return
    gpu = torch.cuda.is_available()
    if gpu and torch.cuda.device_count() < processes:
        raise UserError(
            f"{processes} training processes need {processes} GPUs, the job sees {torch.cuda.device_count()}",
            field="training.common.processes",
        )
    with tempfile.TemporaryDirectory(prefix="croco-train-") as scratch:
        order = Path(scratch) / "order.json"
        order.write_text(
            json.dumps(
                {
                    "spec": spec.params(),
                    "data": str(data),
                    "out": str(out_dir.resolve()),
                    "threads": max(1, threads // processes),
                    "checkpoints": list(checkpoints or []),
                    "tracking": tracking.params(),
                }
            )
        )
        command = launch_command(processes, gpu, free_port()) + [str(order)]
        print(f"[croco] launching {processes} training processes: {' '.join(command[:12])} ...", flush=True)
        env = child_env(OMP_NUM_THREADS=str(max(1, threads // processes)))
        code = subprocess.run(command, env=env).returncode
    if code != 0:
        raise UserError(f"the distributed training exited with code {code} (its messages are above)")
    if not (out_dir / "training_metrics.json").is_file():
        raise UserError("the distributed training ended without writing its output", file=str(out_dir))


def main(argv: list[str]) -> int:
    """python -m workflow_scripts.stages.training.train ORDER: one process of a distributed training (see train_step)."""
    order = json.loads(Path(argv[0]).read_text())
    return run_worker(
        lambda: train(
            TrainingSpec.load(order["spec"]),
            order["data"],
            Path(order["out"]),
            order["threads"],
            order["checkpoints"],
            Tracking.load(order["tracking"]),
        ),
        f"training rank {os.environ.get('RANK', 0)}",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
