"""Experiment tracking (`training.report_to`): the trackers TRL's trainers report to through transformers'
integrations (TensorBoard, Weights & Biases, MLflow, Trackio), each run named after the adapter's path and
given the step's spec (its hyperparameters, model identity, software versions and code fingerprint) as its
config. Tracking changes no weight: it is read from the job's config, outside the spec, so that turning it on
retrains nothing. Local trackers write under `training.tracking_dir`; W&B follows its own environment
(`WANDB_MODE=offline` on nodes without internet)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.runtime.spec import Spec

TRACKERS = ("tensorboard", "wandb", "mlflow", "trackio")


@dataclass(frozen=True)
class Tracking(Spec):
    """Not a step's spec (it decides nothing a step writes), a Spec for its params()/load() round trip."""

    report_to: list  # among TRACKERS; empty: none
    directory: str  # where TensorBoard, MLflow (file store), W&B and Trackio write their local files
    run_name: str  # the adapter's (or curve run's) path

    @classmethod
    def from_config(cls, config: dict, out_dir) -> Tracking:
        training = config.get("training", {})
        return cls(list(training.get("report_to") or []), training.get("tracking_dir", "logs/tracking"), str(out_dir))


NO_TRACKING = Tracking([], "logs/tracking", "")


def flat(params: dict, prefix: str = "croco") -> dict:
    """A spec's nested parameters as one level of `croco/<key>/<key>` entries: every tracker's config takes it
    (MLflow logs each as a parameter)."""
    out = {}
    for key, value in params.items():
        name = f"{prefix}/{key}"
        if isinstance(value, dict):
            out.update(flat(value, name))
        else:
            out[name] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return out


def tracking_arguments(tracking: Tracking) -> dict:
    """TrainingArguments' report_to and run_name, with the local trackers pointed into the tracking directory
    (an environment the user set wins)."""
    if not tracking.report_to:
        return {"report_to": []}
    base = Path(tracking.directory).resolve()
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(base / "tensorboard" / tracking.run_name)
    os.environ.setdefault("WANDB_DIR", str(base))
    os.environ.setdefault("MLFLOW_TRACKING_URI", (base / "mlruns").as_uri())
    os.environ.setdefault("TRACKIO_DIR", str(base / "trackio"))
    (base / "tensorboard").mkdir(parents=True, exist_ok=True)
    return {"report_to": list(tracking.report_to), "run_name": tracking.run_name}


def attach_run_config(model, tracking: Tracking, spec_params: dict) -> None:
    """Put the spec where every integration reads its run config: the model's config, which the W&B, MLflow
    and Trackio callbacks merge with the training arguments and TensorBoard writes as text. The adapter saves no
    base-model config, so nothing of it reaches an artifact."""
    if tracking.report_to:
        model.config.update(flat(spec_params))


def finish_trackers(tracking: Tracking) -> None:
    """Close the runs the integrations opened, so that their files are complete when the job ends (a forked
    worker exits without running atexit handlers)."""
    import sys

    if "wandb" in tracking.report_to and "wandb" in sys.modules and sys.modules["wandb"].run is not None:
        sys.modules["wandb"].finish()
    if "mlflow" in tracking.report_to and "mlflow" in sys.modules and sys.modules["mlflow"].active_run() is not None:
        sys.modules["mlflow"].end_run()
    if "trackio" in tracking.report_to and "trackio" in sys.modules:
        sys.modules["trackio"].finish()
