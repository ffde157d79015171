"""Data-parallel training: `training.common.processes: 2` launches two processes of the same TRL code
(torchrun with gloo on this CPU; accelerate's multi-GPU launcher on GPUs), rank 0 alone writes the adapter."""

import json

from helpers import MODEL, snakemake, tiny_config, write_config

ADAPTER = f"results/adapters/{MODEL}/translated/mono-en/sft"


def test_two_process_training_writes_one_adapter(seeded_workspace, tmp_path):
    ws = seeded_workspace(tmp_path / "ws")
    c = tiny_config()
    c["languages"] = ["en"]
    c["prompts"].update(limit=8, translations={})
    c["translation"] = {"model": None}
    c["training"]["common"].update(processes=2, per_device_batch_size=2, gradient_accumulation_steps=1, max_steps=2)
    c["experiments"] = {"main": {"policy": MODEL, "methods": ["sft"], "regimes": ["mono"]}}
    config = write_config(ws, c)
    result = snakemake(ws, ADAPTER, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-4000:]
    log = (ws / f"logs/train/{MODEL}/translated/mono-en/sft.log").read_text()
    assert "launching 2 training processes" in log and "torch.distributed.run" in log
    assert "2 process(es) x 2 per device x 1 accumulation = global batch 4" in log
    metrics = json.loads((ws / ADAPTER / "training_metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["global_batch_size"] == 4
    assert metrics["summary"]["epoch"] == 1.0  # 2 steps x 4 examples = the 8 prompts once
    assert (ws / ADAPTER / "adapter_config.json").is_file() and (ws / ADAPTER / "training_curves.png").is_file()
    assert not list((ws / ADAPTER).glob("trainer")) and not list((ws / ADAPTER.rsplit("/", 1)[0]).glob(".sft.*"))
