"""EuroEval on one subject (a model, or an adapter merged into its base): the configured datasets of all its
languages in one process and one model load, scores with 95% intervals, one JSON.

Official datasets are named as EuroEval names them (they need the Hugging Face Hub). Custom datasets are
local CSV files in EuroEval's custom-dataset format (one file per split; `text` and `label` columns), so
the CPU demo runs fully offline. EuroEval loads its metrics with `evaluate.load(<name>)`; offline, the
job runs in a scratch directory holding this project's own metric scripts under those names
(workflow_scripts/stages/euroeval/metrics), which `evaluate` finds before trying the Hub.

Two compatibility shims for EuroEval 16.11 (the last release for Python 3.11), both applied only inside
this step:
- with transformers 5, `apply_chat_template(tokenize=True)` returns a BatchEncoding where EuroEval
  expects a list of token ids (it asserts on it);
- without CUDA, EuroEval converts FP32 models to FP16, which vLLM's CPU backend runs through a slow
  fallback; on CPU we keep FP32 and an in-process engine (as every other vLLM step here does).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import write_json
from workflow_scripts.runtime.models import require_adapter_dir
from workflow_scripts.runtime.spec import ModelRef, Spec
from workflow_scripts.runtime.tables import require_utf8
from workflow_scripts.stages.euroeval.merge import merged_model

METRICS_DIR = Path(__file__).resolve().parent / "metrics"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class EuroEvalSpec(Spec):
    model: ModelRef  # the subject's base model
    subject: str
    adapter: str | None  # the subject's adapter directory (merged into the base model), or None: a base model
    datasets: dict  # language -> dataset names, in the order evaluated (training languages, then held-out ones)
    custom_datasets: dict  # name -> {task, language, dir, ...}: local CSV datasets
    custom_data_sha256: dict  # name -> split -> SHA-256: custom data is identified by content, not path
    few_shot: bool
    num_iterations: int
    evaluate_test_split: bool
    offline: bool
    python: str | None  # another environment's interpreter (EuroEval 17.0.0), or None: this one
    gpu_memory_utilization: float
    software: dict  # versions of the packages that compute it (EuroEval in `python`'s environment; the merge here)
    code: str


def prepare_environment(offline: bool) -> None:
    from workflow_scripts.runtime.engines import prepare_environment as prepare_vllm

    prepare_vllm()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else LiteLLM retries a download for ~10 s
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        # The Hub libraries read these when imported: already imported (a worker of workflow_scripts.runtime.forkserver),
        # they are told here.
        if "huggingface_hub" in sys.modules:
            sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True
        if "datasets" in sys.modules:
            import datasets.config

            datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True


def install_compat_shims() -> None:
    import euroeval.benchmark_modules.vllm as euroeval_vllm
    import euroeval.generation_utils as generation_utils
    import euroeval.tokenisation_utils as tokenisation_utils
    import torch

    original_template = tokenisation_utils.apply_chat_template

    def apply_chat_template(*args, **kwargs):
        result = original_template(*args, **kwargs)
        if kwargs.get("tokenise") and isinstance(result, Mapping):
            return list(result["input_ids"])
        return result

    for module in (tokenisation_utils, euroeval_vllm, generation_utils):
        if getattr(module, "apply_chat_template", None) is original_template:
            module.apply_chat_template = apply_chat_template

    if not torch.cuda.is_available():
        original_llm = euroeval_vllm.LLM

        def LLM(*args, **kwargs):  # noqa: N802 (stands in for vllm.LLM)
            kwargs["dtype"] = torch.float32
            kwargs["enable_chunked_prefill"] = False
            # EuroEval asks for the multiprocessing backend ("1 GPU"); in-process starts ~10 s faster here.
            kwargs["distributed_executor_backend"] = "uni"
            return original_llm(*args, **kwargs)

        euroeval_vllm.LLM = LLM


def tasks_by_name() -> dict:
    import euroeval.tasks as tasks
    from euroeval.data_models import Task

    return {task.name: task for task in vars(tasks).values() if isinstance(task, Task)}


def custom_dataset_config(name: str, spec: dict, base_dir: Path):
    from euroeval import DatasetConfig
    from euroeval.languages import get_all_languages

    field = f"evaluation.euroeval.custom_datasets.{name}"
    tasks = tasks_by_name()
    if spec["task"] not in tasks:
        raise UserError(f"unknown EuroEval task '{spec['task']}'; known: {', '.join(sorted(tasks))}", field=f"{field}.task")
    languages = get_all_languages()
    if spec["language"] not in languages:
        raise UserError(f"EuroEval does not know the language '{spec['language']}'", field=f"{field}.language")
    source = {split: str((base_dir / spec["dir"]).resolve() / f"{split}.csv") for split in SPLITS}
    for split, path in source.items():
        if not Path(path).is_file():
            raise UserError(f"missing {split} split: {path}", file=path, field=f"{field}.dir")
        require_utf8(path)
    extra = {}
    if spec.get("num_few_shot_examples") is not None:
        extra["_num_few_shot_examples"] = spec["num_few_shot_examples"]
    return DatasetConfig(
        name=name,
        pretty_name=spec.get("pretty_name") or name,
        source=source,
        task=tasks[spec["task"]],
        languages=[languages[spec["language"]]],
        unofficial=True,
        **extra,
    )


def collect_scores(result) -> dict:
    """{metric: {score, ci95: [low, high], half_width}} from a BenchmarkResult (EuroEval's `_se` is 1.96 SE)."""
    total = result.results["total"]
    metrics = {}
    for key, value in total.items():
        if key.endswith("_se"):
            continue
        name = key.split("_", 1)[1] if key.startswith(("test_", "val_")) else key
        half = total.get(f"{key}_se")
        finite = half is not None and math.isfinite(half)
        metrics[name] = {
            "score": value,
            "half_width": half if finite else None,
            "ci95": [value - half, value + half] if finite else None,
        }
    return metrics


def euroeval_step(snakemake) -> None:
    """One subject's EuroEval result (`batch: subject`)."""
    spec = EuroEvalSpec.load(snakemake.params.spec)
    output = Path(snakemake.output[0])
    documents = evaluate_subjects([spec], snakemake.input.get("model"), output, snakemake.threads)
    write_json(documents[spec.subject], output)


def euroeval_batch_step(snakemake) -> None:
    """Several subjects' EuroEval results from one EuroEval import (`batch: scope`): {"subjects": {subject: result}}."""
    specs = [EuroEvalSpec.load(params) for params in snakemake.params.specs]
    output = Path(snakemake.output[0])
    documents = evaluate_subjects(specs, snakemake.input.get("model"), output, snakemake.threads)
    write_json({"subjects": documents}, output)


def euroeval_subject_step(snakemake) -> None:
    """A subject's result out of its batch's file (`batch: scope`): the same file `batch: subject` writes."""
    import json

    batch = json.loads(Path(snakemake.input[0]).read_text())
    write_json(batch["subjects"][snakemake.wildcards.subject], Path(snakemake.output[0]))


@contextlib.contextmanager
def subject_model(spec: EuroEvalSpec, model_dir: str | None, merge_next_to: Path, threads: int) -> Iterator[str]:
    """What EuroEval loads for a subject: its base model (a directory, or a Hub id at its resolved commit) or,
    for an adapter, a merged copy made beside `merge_next_to` and removed afterwards. Called in the workflow's
    directory; the paths it gives are absolute, for EuroEval runs in a scratch directory."""
    if model_dir:
        base = str(Path(model_dir).resolve())
    else:  # a Hub model, at the commit it resolved to (EuroEval reads <id>@<revision>)
        base = f"{spec.model.location}@{spec.model.revision}" if spec.model.revision else spec.model.location
    if spec.adapter is None:
        yield base
        return
    with merged_model(spec.model, Path(spec.adapter), merge_next_to, threads) as merged:
        yield str(merged.resolve())


def evaluate_subjects(specs: list[EuroEvalSpec], model_dir: str | None, output: Path, threads: int) -> dict:
    """subject -> its result, every subject in one EuroEval session (one import, one scratch directory). In this
    interpreter each adapter is merged just before its evaluation; for another interpreter all are merged first
    and evaluated by one child process."""
    for spec in specs:  # every adapter whole before EuroEval is imported and any model loaded
        if spec.adapter is not None:
            require_adapter_dir(spec.adapter)
    merge_at = [output.with_name(f"{output.name}.{index}") for index in range(len(specs))]
    if specs[0].python:
        with contextlib.ExitStack() as stack:
            models = [stack.enter_context(subject_model(s, model_dir, at, threads)) for s, at in zip(specs, merge_at)]
            return run_in_interpreter(specs, models)
    documents = {}
    with EuroEvalSession(any(spec.offline for spec in specs)) as session:
        for spec, at in zip(specs, merge_at):
            with subject_model(spec, model_dir, at, threads) as model:
                documents[spec.subject] = session.evaluate(spec, model)
    return documents


def run_in_interpreter(specs: list[EuroEvalSpec], models: list[str]) -> dict:
    """Evaluate in another environment's interpreter (`evaluation.euroeval.python`): the authors ran EuroEval
    17.0.0, which needs Python 3.12 and transformers 4, in a virtual environment of its own."""
    import json
    import subprocess

    from workflow_scripts.runtime.step import child_env

    python = Path(specs[0].python)
    if not python.is_file():
        raise UserError(
            f"no Python interpreter at {python}: create the EuroEval environment (envs/setup-gpu.sh does, "
            "with Python 3.12), or set it to null to use this environment's EuroEval",
            field="evaluation.euroeval.python",
        )
    with tempfile.TemporaryDirectory(prefix="croco-euroeval-") as scratch:
        order = Path(scratch) / "order.json"
        answer = Path(scratch) / "results.json"
        order.write_text(json.dumps({"specs": [spec.params() for spec in specs], "models": models, "output": str(answer)}))
        print(f"[croco] EuroEval runs in {python}", flush=True)
        code = subprocess.run([str(python), "-m", "workflow_scripts.stages.euroeval.run", str(order)], env=child_env()).returncode
        if code != 0:
            raise UserError(f"the EuroEval process ({python}) exited with code {code} (its messages are above)")
        return json.loads(answer.read_text())


def main(argv: list[str]) -> int:
    """python -m workflow_scripts.stages.euroeval.run ORDER: the evaluations of one order in this interpreter (see
    run_in_interpreter)."""
    import json

    from workflow_scripts.runtime.step import run_worker

    order = json.loads(Path(argv[0]).read_text())
    specs = [EuroEvalSpec.load(params) for params in order["specs"]]

    def work():
        with EuroEvalSession(any(spec.offline for spec in specs)) as session:
            documents = {spec.subject: session.evaluate(spec, model) for spec, model in zip(specs, order["models"])}
        write_json(documents, Path(order["output"]))

    return run_worker(work, "EuroEval")


class EuroEvalSession:
    """EuroEval imported and patched once, and a scratch directory holding this project's metric scripts, which
    EuroEval and `evaluate` look for in the working directory (they write caches there too; `evaluate` keeps
    loaded metrics, so the directory lives as long as the session). Evaluates one subject after another, in
    that directory."""

    def __init__(self, offline: bool):
        self.offline = offline

    def __enter__(self) -> EuroEvalSession:
        prepare_environment(self.offline)
        install_compat_shims()
        self.here = Path.cwd()
        self.scratch = Path(tempfile.mkdtemp(prefix="euroeval-"))
        for metric in METRICS_DIR.iterdir():
            if metric.is_dir() and not metric.name.startswith("_"):
                (self.scratch / metric.name).symlink_to(metric)
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def evaluate(self, spec: EuroEvalSpec, model: str) -> dict:
        """Every language's datasets on `model` (an absolute directory or a Hub id) in one EuroEval call, which
        loads the model once: the subject's result, per language."""
        from euroeval import Benchmarker
        from euroeval.exceptions import InvalidBenchmark

        names = list(dict.fromkeys(name for names in spec.datasets.values() for name in names))
        datasets = [
            custom_dataset_config(name, spec.custom_datasets[name], self.here) if name in spec.custom_datasets else name
            for name in names
        ]
        benchmarker = Benchmarker(
            progress_bar=True,
            save_results=False,
            raise_errors=True,
            cache_dir=str(self.scratch / "cache"),
            few_shot=spec.few_shot,
            num_iterations=spec.num_iterations,
            evaluate_test_split=spec.evaluate_test_split,
            gpu_memory_utilization=spec.gpu_memory_utilization,
        )
        field = f"evaluation.euroeval.datasets ({', '.join(spec.datasets)})"
        os.chdir(self.scratch)
        try:
            benchmark_results = benchmarker.benchmark(model=model, dataset=datasets, language=list(spec.datasets))
        except InvalidBenchmark as exc:
            raise UserError(f"EuroEval could not run the datasets {names}: {exc}", field=field) from None
        except ValueError as exc:
            if "not found" in str(exc).lower() or "unknown" in str(exc).lower():
                raise UserError(f"EuroEval does not know one of the datasets {names}: {exc}", field=field) from None
            raise
        finally:
            os.chdir(self.here)
        by_name = {result.dataset: result for result in benchmark_results}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise UserError(f"EuroEval returned no result for {missing}", field=field)
        results = {name: dataset_result(by_name[name]) for name in names}
        for lang, lang_names in spec.datasets.items():
            for name in lang_names:
                entry = results[name]
                main = entry["metrics"][entry["primary_metric"]]
                print(
                    f"[croco] {spec.subject} {lang} {name}: {entry['primary_metric']} {main['score']:.2f}"
                    f" ± {main['half_width'] or 0:.2f}",
                    flush=True,
                )
        return {
            "subject": spec.subject,
            "model": spec.model.location,
            "euroeval_version": importlib.metadata.version("euroeval"),
            "num_iterations": spec.num_iterations,
            "languages": {
                lang: {"datasets": {name: results[name] for name in lang_names}} for lang, lang_names in spec.datasets.items()
            },
        }


def dataset_result(result) -> dict:
    metrics = collect_scores(result)
    return {
        "task": result.task,
        "primary_metric": next(iter(metrics)),
        "metrics": metrics,
        "iterations": result.results.get("raw"),
        "split": "val" if result.validation_split else "test",
        "few_shot": result.few_shot,
    }


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
