"""Loading models inside a job: a model or adapter that cannot be loaded is one clear error naming it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from workflow_scripts.errors import UserError


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


def require_adapter_dir(path) -> None:
    """A LoRA adapter directory must hold its adapter_config.json (PEFT and vLLM both read it) and whole weights:
    checked before any model is loaded, so that a truncated file (a full disk, an interrupted copy) is named, not
    met as a library traceback minutes later."""
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        what = "does not exist" if not path.exists() else "is not a LoRA adapter directory (adapter_config.json is missing)"
        raise UserError(what, file=str(path), field="adapter_config.json")
    weights = path / "adapter_model.safetensors"
    if not weights.is_file():
        raise UserError("the adapter's weights are missing", file=str(weights), field="adapter_model.safetensors")
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), "pt") as reader:
            reader.keys()
    except (SafetensorError, OSError) as exc:
        raise UserError(
            f"the adapter's weights are truncated or corrupt ({exc}); train it again (snakemake --forcerun {path})",
            file=str(weights),
            field="adapter_model.safetensors",
        ) from None
