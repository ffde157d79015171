"""Why each planned job would run, one line per job:

    python -m workflow_scripts.planning.why [TARGET...] [--configfile FILE]

    train results/adapters/…/dpo-mean_minus_2sigma-chosen: beta 0.1 → 0.2
    euroeval results/euroeval/…/dpo-mean_minus_2sigma-chosen.json: input rebuilt by a planned job (results/adapters/…)

`snakemake -n` says "Params have changed since last execution" followed by both parameter sets, each the whole
spec of the step (up to thousands of characters). Every rule here has one parameter, its step's spec (a dict), so
the difference between the recorded spec and the planned one is the list of keys whose values differ. The DAG
is Snakemake's own, built through its API with the workflow profile's rerun triggers and checksum limit, exactly
as `snakemake -n` builds it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_PROFILE = REPO / "profiles/default/config.yaml"
MISSING = object()


def flatten(value, prefix: str = "") -> dict[str, object]:
    """Nested dicts as dotted keys; anything else (lists included) is a leaf."""
    if isinstance(value, dict) and value:
        flat = {}
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def spec_differences(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(dotted key, old value, new value) for every key whose value differs; MISSING where a side lacks it."""
    before, after = flatten(old), flatten(new)
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k, MISSING), after.get(k, MISSING)) for k in keys if before.get(k, MISSING) != after.get(k, MISSING)]


def show(value) -> str:
    if value is MISSING:
        return "(none)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_differences(differences: list[tuple[str, object, object]]) -> str:
    return "; ".join(f"{key} {show(old)} → {show(new)}" for key, old, new in differences)


def parse_recorded(params: set) -> dict:
    """A ParamsChange side (serialized parameter values) as the spec dict, {} when there is none."""
    specs = []
    for text in params:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, dict):
            specs.append(value)
    return specs[0] if len(specs) == 1 else {}


def describe(reason) -> str:
    """One line for a Snakemake job's reason: what changed, params as key differences."""
    parts = []
    if reason.forced:
        parts.append("forced")
    if reason._missing_output:
        parts.append("output missing")
    if reason._incomplete_output:
        parts.append("output incomplete (a job was killed while writing it)")
    rebuilt = sorted(map(str, reason.updated_input_run))
    updated = sorted(set(map(str, reason.updated_input)) - set(rebuilt))
    if updated:
        parts.append(f"input changed ({shorten_files(updated)})")
    if rebuilt:
        parts.append(f"input rebuilt by a planned job ({shorten_files(rebuilt)})")
    if reason.input_changed:
        parts.append("set of input files changed")
    if reason.code_changed:
        parts.append("code changed")
    if reason.params_changed:
        differences = spec_differences(
            parse_recorded(reason.params_changed.only_old), parse_recorded(reason.params_changed.only_new)
        )
        parts.append(describe_differences(differences) if differences else "params changed")
    if reason.software_stack_changed:
        parts.append("software environment changed")
    return "; ".join(parts) or str(reason) or "planned"


def shorten_files(files: list[str], shown: int = 2) -> str:
    more = len(files) - shown
    return ", ".join(files[:shown]) + (f" and {more} more" if more > 0 else "")


def planned_reasons(targets: list[str], configfile: str | None) -> list[tuple[str, str, str]]:
    """(rule, first output, one-line reason) for every job a dry run would plan, in DAG order."""
    import yaml
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness, RerunTrigger
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    profile = yaml.safe_load(WORKFLOW_PROFILE.read_text())
    triggers = frozenset(RerunTrigger.parse_choice(t) for t in profile.get("rerun-triggers", []))
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(configfile).resolve()] if configfile else []),
            snakefile=Path.cwd() / "Snakefile",
        )
        # the DAG API hands its settings to the workflow; the DAG is then built as --printdag builds it
        workflow_api.dag(
            dag_settings=DAGSettings(
                targets=frozenset(targets),
                rerun_triggers=triggers or RerunTrigger.all(),
                max_checksum_file_size=profile.get("max-checksum-file-size", 1_000_000),
            )
        )
        # What `snakemake --printdag` does (Workflow.printdag): plan, then read the DAG instead of running it.
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        dag = workflow.dag
        lines = []
        for job in dag.needrun_jobs():
            if not job.output:  # the target rule `all`
                continue
            lines.append((job.rule.name, str(job.output[0]), describe(dag.reason(job))))
        return lines


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workflow_scripts.planning.why", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="files to build (default: the workflow's default target)")
    parser.add_argument("--configfile", default=None, help="as for snakemake (default: config.yaml)")
    args = parser.parse_args(argv)
    if not Path("Snakefile").is_file():
        raise SystemExit("error: run this from the root of the clone (no Snakefile here)")
    jobs = planned_reasons(args.targets, args.configfile)
    for rule, output, reason in jobs:
        print(f"{rule} {output}: {reason}", flush=True)
    print(f"{len(jobs)} job(s) planned", file=sys.stderr)


if __name__ == "__main__":
    main()
