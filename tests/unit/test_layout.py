"""One source for each name and path: the rules write no path of their own (planning/layout.py's templates), the
schema and the report use the names of workflow_scripts/names.py, names round-trip through their parsers and the
layout's wildcard patterns, shards sit beside the table they are gathered into, and no code edits the import
path."""

import re

import yaml

from workflow_scripts import names
from workflow_scripts.planning import layout

from helpers import REPO


def test_rule_files_name_no_path_of_their_own():
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        text = path.read_text()
        assert not re.search(r"[\"']results/", text), f"{path.name} spells out a results/ path: use planning/layout.py"


def test_the_schema_and_the_report_use_the_vocabulary():
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    experiment = schema["properties"]["experiments"]["additionalProperties"]["properties"]
    assert tuple(experiment["methods"]["items"]["enum"]) == names.METHODS
    assert tuple(experiment["regimes"]["items"]["enum"]) == names.REGIMES
    target_pattern = experiment["rejection_targets"]["items"]["pattern"]
    for target in (*names.TARGETS, "mean_minus_1.5sigma", "mean_minus_3sigma", "quantile_0.1", "quantile_0.05"):
        assert re.fullmatch(target_pattern, target) and names.is_target(target), target
    for wrong in ("quantile_0", "quantile_1", "quantile_0.0", "mean_minus_sigma", "q2", "max"):
        assert not re.fullmatch(target_pattern, wrong) and not names.is_target(wrong), wrong
    assert tuple(experiment["prompt_languages"]["items"]["enum"]) == names.PROMPT_LANGUAGES
    from workflow_scripts.stages.report.common import TARGET_NAMES

    assert tuple(TARGET_NAMES) == names.TARGETS


def test_names_round_trip():
    for target in (*names.TARGETS, "mean_minus_1.5sigma", "quantile_0.1"):
        for plang in names.PROMPT_LANGUAGES:
            name = names.dpo_dataset(target, plang)
            assert re.fullmatch(layout.DATASET_RE, name) and re.fullmatch(layout.SAMPLED_DATASET_RE, name)
            assert names.parse_dataset(name) == {"method": "dpo", "target": target, "prompt_language": plang}
            filtered = names.language_filtered(name)
            assert re.fullmatch(layout.SAMPLED_DATASET_RE, filtered) and names.parse_dataset(filtered)["language_filter"]
        online = names.online_dataset(target)
        assert re.fullmatch(layout.ONLINE_DATASET_RE, online) and names.parse_dataset(online)["online"]
    assert re.fullmatch(layout.DATASET_RE, "sft") and not re.fullmatch(layout.SAMPLED_DATASET_RE, "sft")
    assert names.parse_sample_source(names.sample_source("eurollm-9b", True)) == ("eurollm-9b", True)
    assert names.scope_languages(names.multi_scope(["de", "da", "en"])) == ["da", "de", "en"]
    training = names.Training("p", "p+instructed", "mono-da", "maxr")
    assert names.parse_subject(training.subject) == ("p", training)
    checkpoint = training.checkpoint(3, 20)
    assert names.parse_subject(checkpoint.subject) == ("p", checkpoint)
    assert layout.adapter_dir(checkpoint) == f"{layout.run_dir(checkpoint)}/{names.checkpoint_name(20)}"


def test_shards_sit_beside_their_gathered_table():
    shards = layout.shard_files(layout.SCORES, 3, samples="m", lang="da")
    assert shards == [f"results/scores/m/da/shard-{k}-of-3.parquet" for k in range(3)]
    assert layout.GENERATION_SHARD == "results/generations/{samples}/{lang}/shard-{shard}-of-{shards}.parquet"


def test_no_code_edits_the_import_path():
    """The workflow is a package installed into the environment (pyproject.toml, envs/setup-cpu.sh)."""
    for path in [REPO / "Snakefile", *(REPO / "rules").rglob("*.smk"), *(REPO / "workflow_scripts").rglob("*.py")]:
        text = path.read_text()
        assert "sys.path.insert" not in text and "sys.path.append" not in text and '"PYTHONPATH"' not in text, path


def test_the_plan_command_prints_the_roots_and_targets_planning_computes():
    """`python -m workflow_scripts.planning.plan` from any directory (a user's shell), on the embedded default."""
    import subprocess
    import sys

    from snakemake.utils import validate

    from workflow_scripts.planning.plan import experiment_targets, language_roots

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    command = [sys.executable, "-m", "workflow_scripts.planning.plan"]
    for args, expected in (
        (["roots", "da"], language_roots(config, "da")),
        (["targets", "main"], experiment_targets(config, "main")),
    ):
        out = subprocess.run(
            [*command, *args, "--configfile", str(REPO / "config.yaml")], capture_output=True, text=True, cwd="/"
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == expected and expected
    unknown = subprocess.run([*command, "roots", "xx", "--configfile", str(REPO / "config.yaml")], capture_output=True, text=True)
    assert unknown.returncode != 0 and "'xx' is not in languages" in unknown.stderr
