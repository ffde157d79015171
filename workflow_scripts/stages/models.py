"""Models made available to the steps: GGUF files materialized as Hugging Face model directories (the rule
base_model), which vLLM, transformers and PEFT then load like any other local model; and the commit a Hub
model's revision resolves to, recorded for the steps that load it and for the report (the rule
resolve_model)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.spec import Spec


@dataclass(frozen=True)
class BaseModelSpec(Spec):
    gguf: str  # the file
    gguf_sha256: str  # what identifies it
    software: dict  # versions of the packages that compute it
    code: str


def materialize_gguf(gguf_file: str | os.PathLike, out_dir: str | os.PathLike) -> dict:
    """De-quantize a GGUF model into a float32 Hugging Face directory (weights, config, tokenizer, template).

    transformers loads GGUF files but refuses to save the quantized object, so the model is rebuilt from
    its config without `quantization_config` and given the de-quantized state dict.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(loaded.config).from_dict(config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(loaded.state_dict(), strict=True)
    if tokenizer.chat_template is None:
        raise UserError(f"{gguf_file} carries no chat template; the policy needs one", file=str(gguf_file))
    model.generation_config = loaded.generation_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "missing_keys": list(result.missing_keys),
        "source": str(gguf_file),
    }


def write_model_card(out_dir: str | os.PathLike, info: dict) -> None:
    (Path(out_dir) / "croco_model.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def materialize_step(snakemake) -> None:
    from workflow_scripts.runtime.atomic import atomic_directory

    spec = BaseModelSpec.load(snakemake.params.spec)
    with atomic_directory(snakemake.output.model) as tmp:
        info = materialize_gguf(spec.gguf, tmp)
        info["gguf_sha256"] = spec.gguf_sha256
        write_model_card(tmp, info)
    print(f"[croco] materialized {info['architecture']} ({info['parameters'] / 1e6:.0f}M parameters) from {spec.gguf}")


@dataclass(frozen=True)
class RevisionSpec(Spec):
    hub: str
    revision: str  # as configured (a branch, a tag or a commit)
    commit: str | None  # what it resolved to when the workflow was planned
    resolved_from: str  # pinned | hub | local cache | unresolved
    code: str


def resolve_step(snakemake) -> None:
    """Record the commit a Hub model is loaded at. The planning resolved it (so that it is in every step's
    provenance); a model it could not resolve (no Hub, not in the local cache) is an error here, before any
    step would load unknown weights."""
    from workflow_scripts.runtime.atomic import write_json

    spec = RevisionSpec.load(snakemake.params.spec)
    if spec.commit is None:
        raise UserError(
            f"cannot resolve {spec.hub} at revision {spec.revision}: the Hugging Face Hub is out of reach and the "
            f"local cache has no snapshot of it. Download it where the Hub is reachable (huggingface-cli download "
            f"{spec.hub} --revision {spec.revision}) into the cache the nodes share (HF_HOME), or pin a commit",
            field=f"models.{snakemake.wildcards.model}.revision",
        )
    write_json(
        {
            "model": snakemake.wildcards.model,
            "hub": spec.hub,
            "revision": spec.revision,
            "commit": spec.commit,
            "resolved_from": spec.resolved_from,
        },
        snakemake.output[0],
    )
    print(f"[croco] {spec.hub}@{spec.revision} is commit {spec.commit} ({spec.resolved_from})", flush=True)
