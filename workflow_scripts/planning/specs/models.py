"""Specs of the model jobs (rules/models.smk): a GGUF file's materialization, a Hub model's resolved revision."""

from __future__ import annotations

import os

from workflow_scripts.planning.models import gguf_path, model_spec, resolve_hub_revision
from workflow_scripts.planning.specs.common import MATERIALIZE_PACKAGES, software, step_code
from workflow_scripts.runtime.fingerprint import file_sha256
from workflow_scripts.stages.models import BaseModelSpec, RevisionSpec


def base_model_spec(config: dict, model: str, base_dir: str | os.PathLike = ".") -> BaseModelSpec:
    path = gguf_path(config["models"][model], model, base_dir)
    return BaseModelSpec(
        gguf=str(path), gguf_sha256=file_sha256(path), software=software(MATERIALIZE_PACKAGES), code=step_code("base_model")
    )


def revision_spec(config: dict, model: str) -> RevisionSpec:
    spec = model_spec(config, model, field="models")
    commit, how = resolve_hub_revision(spec["hub"], spec["revision"])
    return RevisionSpec(
        hub=spec["hub"], revision=spec["revision"], commit=commit, resolved_from=how, code=step_code("resolve_model")
    )
