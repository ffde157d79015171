# Config validation, shared helpers and wildcard constraints.
import re

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from workflow_scripts.errors import UserError
from workflow_scripts.fingerprint import code_fingerprint, file_sha256
from workflow_scripts.models import materialized_input, model_identity, model_location, model_revision, model_spec
from workflow_scripts.plan import (
    INSTRUCTED,
    TRANSLATED,
    all_targets,
    check_config,
    parse_dataset,
    parse_sample_source,
    schema_error,
    scope_languages,
)


def _invalid_config(error: UserError):
    """Stop with one line naming the config file and the key; no traceback (it is the user's input, not a bug)."""
    files = ", ".join(os.path.relpath(f) for f in workflow.config_settings.configfiles) or "config.yaml"
    where = ", ".join([f"file {files}"] + ([f"field '{error.field}'"] if error.field else []))
    detail = f" (file {error.file})" if error.file else ""
    print(f"Invalid config [{where}]: {error.message}{detail}", file=sys.stderr)
    sys.exit(1)


def _validate_config():
    schema_path = WORKFLOW_DIR / "schemas/config.schema.yaml"
    try:
        validate(config, str(schema_path))  # Snakemake's validate also fills in the defaults
    except WorkflowError:
        _invalid_config(schema_error(config, schema_path))
    try:
        check_config(config, Path.cwd())
    except UserError as exc:
        _invalid_config(exc)


_validate_config()

SOURCE_LANGUAGE = config["source_language"]
LANGUAGE_RE = "|".join(config["languages"])
MODEL_RE = "|".join(map(re.escape, config["models"]))
# A generator's samples: its name, with +instructed when the prompts carried the language instruction.
SAMPLES_RE = rf"(?:{MODEL_RE})(?:{re.escape(INSTRUCTED)})?"


wildcard_constraints:
    lang=LANGUAGE_RE,
    model=MODEL_RE,
    samples=SAMPLES_RE,
    translator=MODEL_RE,
    policy=MODEL_RE,
    source=f"{TRANSLATED}|{SAMPLES_RE}",
    scope=r"(mono|multi)-[a-z+]+",
    dataset=r"dpo-(mean_minus_2sigma|q1|min)-(chosen|rejected|random)|maxr|sft",
    # A model name, or an adapter <policy>/<source>/<scope>/<dataset> (see workflow_scripts/plan.py).
    subject=rf"(?:{MODEL_RE})(?:/(?:{TRANSLATED}|{SAMPLES_RE})/(?:mono|multi)-[a-z+]+/[A-Za-z0-9_-]+)?",
    comparison=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    shard=r"\d+",
    shards=r"\d+",


def step_code(name):
    """Fingerprint of a step's glue script and every workflow_scripts module it imports."""
    return code_fingerprint(str(WORKFLOW_DIR / "rules" / "scripts" / f"{name}.py"))


# How many engines a job runs changes where samples are computed, not what they are (each request has
# its own seed): kept out of the steps' params, so changing it recomputes nothing.
EXECUTION_ONLY_ENGINE_KEYS = ("data_parallel_size",)


# Engine settings a model may override for its own engines (e.g. a 32K context for the reward model).
PER_MODEL_ENGINE_KEYS = ("tensor_parallel_size", "max_model_len")


def engine_spec(model):
    """The engine settings of a vLLM step that loads `model` (its own tensor_parallel_size and max_model_len
    override the defaults)."""
    spec = {k: v for k, v in config["engine"].items() if k not in EXECUTION_ONLY_ENGINE_KEYS}
    spec.update({k: config["models"][model][k] for k in PER_MODEL_ENGINE_KEYS if k in config["models"][model]})
    return spec


def engine_resources(model_of):
    """Resources of a vLLM job; `model_of(wildcards)` names its model. It asks at least for one engine's GPUs."""
    out = job_resources("engine")
    if out.get("gpu"):
        asked = out["gpu"]
        out["gpu"] = lambda wc: max(asked, engine_spec(model_of(wc))["tensor_parallel_size"])
    return out


def model_params(name):
    """How a step loads a model, and what identifies its weights (changes trigger recomputation)."""
    spec = model_spec(config, name, field="models")
    return {
        "model": model_location(config, name),
        "revision": model_revision(config, name),
        "identity": model_identity(config, name, Path.cwd()),
        "chat_template_kwargs": spec.get("chat_template_kwargs", {}),
    }


def model_input(name):
    # Not ancient(): Snakemake never checks the params of jobs below an ancient-only input of a rerun job.
    # A directory's age is that of its .snakemake_timestamp, so touching the model changes nothing.
    return materialized_input(config, name)


def job_resources(kind):
    """Snakemake resources of a kind of job (see `resources:` in the config schema)."""
    spec = config["resources"][kind]
    out = {"mem_mb": spec["mem_mb"], "runtime": spec["runtime"]}
    if spec["gpu"]:
        out["gpu"] = spec["gpu"]
        if spec.get("gpu_model"):
            out["gpu_model"] = spec["gpu_model"]
    return out
