"""Typed step specs: what determines a step's output, as a dataclass next to the step's code.

Planning builds a step's spec from the config and the job's wildcards (`workflow_scripts/planning/specs/`) and
passes `spec.params()`, a plain dict, as `params.spec`: Snakemake hashes it for its rerun trigger and for
`--cache`. The step reads it back with `GenerationSpec.load(snakemake.params.spec)`. A field missing or
misspelled on either side is an error when the workflow is planned, not a KeyError in a job.
"""

from __future__ import annotations

import dataclasses
import typing


class Spec:
    """Base of the step specs (dataclasses)."""

    def params(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def load(cls, params: dict):
        """The spec from its `params()` dict, nested specs included; unknown or missing fields are an error."""
        hints = typing.get_type_hints(cls)
        values = {}
        for field in dataclasses.fields(cls):
            value = params[field.name]
            kind = hints[field.name]
            if isinstance(kind, type) and issubclass(kind, Spec) and isinstance(value, dict):
                value = kind.load(value)
            values[field.name] = value
        unknown = set(params) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class ModelRef(Spec):
    """How a step loads a model, and what identifies its weights (a change recomputes the step)."""

    location: str  # what vLLM / transformers load: a directory or a Hub id
    revision: str | None
    identity: str
    chat_template_kwargs: dict
