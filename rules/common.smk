# The config (validated and checked before any job), wildcard constraints, and the helpers rules share:
# what each kind of job asks the scheduler for, and the inputs that make a model available.
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from workflow_scripts.errors import UserError
from workflow_scripts.names import TRANSLATED
from workflow_scripts.planning.config_checks import (
    check_config,
    check_output_directories,
    config_warnings,
    schema_error,
)
from workflow_scripts.planning.layout import (
    ADAPTER_DATASET_RE,
    DATASET_RE,
    LOGS,
    SCOPE_RE,
    artifact_templates,
    samples_re,
)
from workflow_scripts.planning.models import model_inputs
from workflow_scripts.planning.specs.common import engine_spec


def _invalid_config(error: UserError):
    """Stop with one line naming the config file and the key; no traceback (it is the user's input, not a bug)."""
    files = ", ".join(os.path.relpath(f) for f in workflow.config_settings.configfiles) or "config.yaml"
    where = ", ".join([f"file {files}"] + ([f"field '{error.field}'"] if error.field else []))
    detail = f" (file {error.file})" if error.file else ""
    print(f"Invalid config [{where}]: {error.message}{detail}", file=sys.stderr)
    sys.exit(1)


def _validate_config():
    schema_path = Path(workflow.basedir) / "schemas/config.schema.yaml"
    try:
        validate(config, str(schema_path))  # Snakemake's validate also fills in the defaults
    except WorkflowError:
        _invalid_config(schema_error(config, schema_path))
    try:
        check_config(config, Path.cwd())
    except UserError as exc:
        _invalid_config(exc)
    for warning in config_warnings(config):
        print(f"WARNING [config]: {warning}", file=sys.stderr)
    try:
        check_output_directories(Path.cwd(), artifact_templates())
    except UserError as exc:
        print(f"Cannot run [file {exc.file}]: {exc.message}", file=sys.stderr)
        sys.exit(1)


_validate_config()

SOURCE_LANGUAGE = config["source_language"]
MODEL_RE = "|".join(map(re.escape, config["models"]))
SAMPLES_RE = samples_re(MODEL_RE)
# Rules are cached between workflows (--cache) only where a cache is set up: elsewhere Snakemake would print
# one "eligible for caching" line per rule on every command.
CACHE = bool(os.environ.get("SNAKEMAKE_OUTPUT_CACHE"))
# The longest chain (translate, sample, score, pair, train on pairs, evaluate) goes first, so that the other
# cores take the jobs beside it (SFT baselines, the base model's evaluation) instead of waiting at its end.
SAMPLING_PRIORITY = 10


wildcard_constraints:
    lang="|".join(config["languages"]),
    model=MODEL_RE,
    translator=MODEL_RE,
    policy=MODEL_RE,
    samples=SAMPLES_RE,
    source=f"{TRANSLATED}|{SAMPLES_RE}",
    scope=SCOPE_RE,
    dataset=DATASET_RE,
    # A model name, an adapter <policy>/<source>/<scope>/<dataset>, or a checkpoint of a curve run (the adapter's
    # name and /seed-<seed>/step-<step>; see workflow_scripts/names.py).
    subject=rf"(?:{MODEL_RE})(?:/(?:{TRANSLATED}|{SAMPLES_RE})/{SCOPE_RE}/(?:{ADAPTER_DATASET_RE})(?:/seed-\d+/step-\d+)?)?",
    # a batch of subjects evaluated by one EuroEval job: a model name, <policy>/<scope>, or a curve run
    batch=rf"(?:{MODEL_RE})(?:/{SCOPE_RE}|/(?:{TRANSLATED}|{SAMPLES_RE})/{SCOPE_RE}/(?:{ADAPTER_DATASET_RE})/seed-\d+)?",
    comparison=r"[A-Za-z0-9][A-Za-z0-9._+@=-]*",
    shard=r"\d+",
    shards=r"\d+",


def job_resources(kind):
    """Snakemake resources of a kind of job (see `resources:` in the config schema)."""
    spec = config["resources"][kind]
    out = {"mem_mb": spec["mem_mb"], "runtime": spec["runtime"]}
    if spec["gpu"]:
        out["gpu"] = spec["gpu"]
        if spec.get("gpu_model"):
            out["gpu_model"] = spec["gpu_model"]
    return out


def single_process_resources(kind):
    """Resources of a job that runs one process on at most one GPU (online DPO: the policy and the reward engine
    share it)."""
    out = job_resources(kind)
    if out.get("gpu"):
        out["gpu"] = 1
    return out


def engine_resources(model_of):
    """Resources of a vLLM job; `model_of(wildcards)` names its model. It asks at least for one engine's GPUs."""
    out = job_resources("engine")
    if out.get("gpu"):
        asked = out["gpu"]
        out["gpu"] = lambda wc: max(asked, engine_spec(config, model_of(wc))["tensor_parallel_size"])
    return out


def model_input(name):
    # Not ancient(): Snakemake never checks the params of jobs below an ancient-only input of a rerun job.
    # A directory's age is that of its .snakemake_timestamp, so touching the model changes nothing.
    return model_inputs(config, name)
