"""The GPU code paths of training, checked in one command, for the day a machine with an NVIDIA GPU is at hand
(no vLLM, no weights, no Hub: models are randomly initialised from the paper policies' shapes, the tokenizer is the
demo's):

1. Liger's kernels give the loss of the plain ones on one batch (DPO and SFT, relative 1e-3), and padding-free SFT
   the loss of padded SFT: each loss is computed by the project's own trainer set-up (`build_trainer`) in a process
   of its own (Liger patches the model classes of the process it runs in), on a 4-layer model with EuroLLM-9B's
   widths and vocabulary;
2. `benchmarks/train_gpu.py` at EuroLLM-9B's full shapes: the preset's settings against the tuned ones (the
   `auto`s), DPO and SFT, 2 optimizer steps each: tokens/s, MFU, peak memory;
3. `per_device_batch_size: auto` chose a batch, and the tuned runs trained with it without running out of memory.

It prints one table and exits 1 if a check failed. On a machine without a CUDA GPU it refuses in one line;
`--cpu-smoke` runs the padded / padding-free check at tiny shapes on the CPU (what the test suite runs).

    python benchmarks/gpu_check.py                  # about 6 minutes on one H100/H200 (step 2 dominates)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

import train_gpu  # noqa: E402  (benchmarks/train_gpu.py: model shapes, data, the measured training runs)

TOLERANCE = 1e-3  # relative difference allowed between two losses of the same batch
BATCH = 4  # examples in the one batch the losses are computed on
# A EuroLLM-9B layer stack cut to 4 layers: the kernels see the real widths and the 128K vocabulary.
CHECK_SHAPE = {**train_gpu.SHAPES["eurollm-9b"], "num_hidden_layers": 4}
# (name, method, liger_kernel, padding_free) of each loss; checks compare two of them.
LOSSES = {
    "dpo-plain": ("dpo", False, False),
    "dpo-liger": ("dpo", True, False),
    "sft-plain": ("sft", False, False),
    "sft-liger": ("sft", True, False),
    "sft-padding-free": ("sft", False, True),
}
CHECKS = [
    ("Liger = plain kernels, DPO", "dpo-liger", "dpo-plain"),
    ("Liger = plain kernels, SFT", "sft-liger", "sft-plain"),
    ("padding-free SFT = padded SFT", "sft-padding-free", "sft-plain"),
]


def one_batch_loss(model_dir: Path, data: Path, method: str, liger: bool, padding_free: bool, scratch: Path) -> dict:
    """The training loss of the first BATCH rows, as the project's trainer computes it (eval mode: no dropout)."""
    import pyarrow.parquet as pq
    import torch
    from datasets import Dataset

    from workflow_scripts.runtime.spec import ModelRef
    from workflow_scripts.stages.training.train import (
        LoraSettings,
        TrainingSettings,
        TrainingSpec,
        build_trainer,
        conversational_rows,
        load_policy,
    )

    training = train_gpu.preset_training()
    gpu = torch.cuda.is_available()
    common = {
        **training["common"],
        "per_device_batch_size": BATCH,
        "gradient_accumulation_steps": 1,
        "liger_kernel": liger,
        "padding_free": padding_free,
        "gradient_checkpointing": False,
        "precision": "bf16" if gpu else "fp32",
        "processes": 1,
        "max_steps": 1,
        "eval_fraction": 0.0,
        "max_length": 4096 if gpu else 512,
    }
    hyper = training["dpo"] if method == "dpo" else training["sft"]
    spec = TrainingSpec(
        model=ModelRef(str(model_dir), None, "gpu-check", {}),
        policy="gpu-check",
        method=method,
        learning_rate=hyper["learning_rate"],
        beta=hyper.get("beta"),
        nll_weight=hyper.get("nll_weight", 0.0),
        lora=LoraSettings(**{**training["lora"], "dropout": 0.0}),
        common=TrainingSettings(**common),
        software={},
        code="gpu-check",
    )
    torch.manual_seed(0)
    tokenizer, model = load_policy(spec)
    rows = conversational_rows(pq.read_table(data).slice(0, BATCH), method)
    trainer, settings = build_trainer(spec, model, tokenizer, Dataset.from_list(rows), None, scratch)
    trainer.model.eval()
    batch = trainer._prepare_inputs(trainer.data_collator([trainer.train_dataset[i] for i in range(BATCH)]))
    with torch.no_grad(), trainer.compute_loss_context_manager():
        loss = trainer.compute_loss(trainer.model, batch)
    return {"loss": float(loss), "liger_kernel": settings["liger_kernel"], "padding_free": settings["padding_free"]}


def losses(model_dir: Path, data: dict[str, Path], names: list[str], scratch: Path) -> dict[str, dict]:
    """Each named loss in a process of its own."""
    out = {}
    for name in names:
        method, liger, padding_free = LOSSES[name]
        command = [sys.executable, __file__, "--one-loss", name, "--model-dir", str(model_dir), "--data", str(data[method])]
        done = subprocess.run(command + ["--dir", str(scratch)], capture_output=True, text=True)
        if done.returncode != 0:
            out[name] = {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
        else:
            out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"loss {name}: {out[name]}", flush=True)
    return out


def compare(results: dict[str, dict], checks) -> list[tuple[str, str, bool]]:
    rows = []
    for what, name, reference in checks:
        a, b = results.get(name, {}), results.get(reference, {})
        if "loss" not in a or "loss" not in b:
            rows.append((what, a.get("error") or b.get("error") or "not run", False))
            continue
        relative = abs(a["loss"] - b["loss"]) / max(abs(b["loss"]), 1e-12)
        rows.append((what, f"{a['loss']:.6f} vs {b['loss']:.6f} (relative {relative:.1e})", relative <= TOLERANCE))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="the padding-free check at tiny shapes on the CPU")
    parser.add_argument("--steps", type=int, default=2, help="optimizer steps per throughput measurement")
    parser.add_argument("--tokenizer", type=Path, default=REPO / "results/models/smollm2-135m")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "croco-gpu-check")
    parser.add_argument("--one-loss", choices=list(LOSSES), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_loss:  # a child process: one loss, as JSON
        method, liger, padding_free = LOSSES[args.one_loss]
        print(json.dumps(one_batch_loss(args.model_dir, args.data, method, liger, padding_free, args.dir)))
        return 0
    import torch

    if not args.cpu_smoke and not torch.cuda.is_available():
        print("benchmarks/gpu_check.py needs an NVIDIA GPU (CUDA): torch sees none here; nothing was run.", file=sys.stderr)
        return 2
    args.dir.mkdir(parents=True, exist_ok=True)
    tokenizer = train_gpu.ensure_tokenizer(args.tokenizer, args.dir, smoke=args.cpu_smoke)
    device = "cpu" if args.cpu_smoke else "cuda"
    name = "CPU" if args.cpu_smoke else torch.cuda.get_device_name()
    shape = "cpu-smoke" if args.cpu_smoke else "eurollm-9b-4-layers"
    train_gpu.SHAPES.setdefault("eurollm-9b-4-layers", CHECK_SHAPE)
    model_dir = train_gpu.build_model(shape, tokenizer, args.dir / f"model-{shape}", device)
    data = train_gpu.write_data(tokenizer, args.dir / "data", BATCH * 2, smoke=args.cpu_smoke)
    names = ["sft-plain", "sft-padding-free"] if args.cpu_smoke else list(LOSSES)
    checks = [c for c in CHECKS if c[1] in names]
    rows = compare(losses(model_dir, data, names, args.dir), checks)
    if not args.cpu_smoke:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        bench = [sys.executable, str(REPO / "benchmarks/train_gpu.py"), "--steps", str(args.steps), "--tokenizer", str(tokenizer)]
        done = subprocess.run(bench + ["--dir", str(args.dir / "train")], env=env)
        results = json.loads((args.dir / "train/results.json").read_text()) if done.returncode == 0 else []
        for row in results:
            settings = f"batch {row['per_device_batch_size']} x {row['gradient_accumulation_steps']}"
            mfu = f", MFU {100 * row['mfu']:.1f}%" if row.get("mfu") else ""
            rows.append(
                (
                    f"{row['method']} {row['variant']} (EuroLLM-9B)",
                    f"{row['tokens_per_second']:,.0f} tokens/s{mfu}, peak {row['peak_memory_gib']:.1f} GiB, {settings}",
                    True,
                )
            )
        tuned = [row for row in results if row["variant"] == "tuned"]
        rows.append(
            (
                "per_device_batch_size: auto trains without running out of memory",
                "; ".join(
                    f"{r['method']}: batch {r['per_device_batch_size']} (tried {r['per_device_batch_tried']})" for r in tuned
                )
                or f"train_gpu.py failed (exit {done.returncode})",
                bool(tuned) and all(r["per_device_batch_size"] >= 1 for r in tuned) and done.returncode == 0,
            )
        )
    width = max(len(what) for what, _, _ in rows)
    print(f"\nGPU check on {name} (commit {_commit()})")
    for what, value, ok in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {what:{width}}  {value}")
    return 0 if all(ok for _, _, ok in rows) else 1


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
