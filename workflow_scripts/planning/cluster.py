"""What only the start of a run can check about the cluster it submits to (Snakefile `onstart`, after the DAG is
built and the executor chosen): on SLURM, jobs that name no partition or account go wherever the cluster's
defaults send them (often a CPU partition or a wrong project's budget), without a word from SLURM or the plugin."""

from __future__ import annotations

from collections.abc import Iterable

SLURM_SETTINGS = ("slurm_partition", "slurm_account")
SLURM_PROFILE = "profiles/slurm/config.yaml"


def unset_slurm_settings(jobs: Iterable[tuple[str, dict]]) -> dict[str, list[str]]:
    """For each of SLURM_SETTINGS, the rules (sorted, once each) of the jobs, given as (rule, resources), that
    leave it unset; settings that every job sets are left out."""
    missing: dict[str, set[str]] = {}
    for rule, resources in jobs:
        for setting in SLURM_SETTINGS:
            if resources.get(setting) in (None, ""):
                missing.setdefault(setting, set()).add(rule)
    return {setting: sorted(rules) for setting, rules in missing.items()}


def slurm_warning(missing: dict[str, list[str]]) -> str | None:
    if not missing:
        return None
    lines = [
        f"WARNING: {setting} is not set for {len(rules)} rule(s) ({', '.join(rules)}): SLURM picks its default"
        for setting, rules in missing.items()
    ]
    lines.append(
        f"  Set them once under default-resources in {SLURM_PROFILE} (or per rule under set-resources there);"
        " GPUs, memory and time limits per job are the config's `resources:` section."
    )
    return "\n".join(lines)


def warn_on_unset_slurm_settings(workflow) -> None:
    plugin = getattr(workflow, "executor_plugin", None)
    if plugin is None or getattr(plugin, "name", None) != "slurm":
        return
    jobs = [
        (job.rule.name, {setting: job.resources.get(setting) for setting in SLURM_SETTINGS})
        for job in workflow.dag.needrun_jobs()
        if not job.is_local
    ]
    warning = slurm_warning(unset_slurm_settings(jobs))
    if warning:
        from snakemake.logging import logger

        logger.warning(warning)
