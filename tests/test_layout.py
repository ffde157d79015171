"""One source for each name and path: the rules write the templates of workflow_scripts/layout.py, the schema
and the report use its names, the lint is clean, and no code edits the import path."""

import re
from pathlib import Path

import yaml

from workflow_scripts import layout

from helpers import REPO, make_workspace, snakemake, work_jobs

TEMPLATES = [
    value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str) and value.startswith("results/")
]
TEMPLATES += list(layout.REPORT_FILES.values())


def template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+(?:/[^/]+)*", re.escape(template)) + "$")


def test_every_planned_artifact_is_a_layout_template(tmp_path):
    """The demo and the paper preset plan only files whose paths layout.py defines."""
    ws = make_workspace(tmp_path / "ws")
    patterns = [template_regex(t) for t in TEMPLATES]
    for args in ([], ["--configfile", "presets/paper.yaml"]):
        result = snakemake(ws, "-n", "--cores", "2", *args)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs = [out for _, out in work_jobs(result)]
        assert outputs
        unknown = [out for out in outputs if not any(p.match(out) for p in patterns)]
        assert unknown == []


def test_rule_files_name_no_path_of_their_own():
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        text = path.read_text()
        assert not re.search(r"[\"']results/", text), f"{path.name} spells out a results/ path: use workflow_scripts/layout.py"


def test_the_schema_and_the_report_use_the_layouts_names():
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    experiment = schema["properties"]["experiments"]["additionalProperties"]["properties"]
    assert tuple(experiment["methods"]["items"]["enum"]) == layout.METHODS
    assert tuple(experiment["regimes"]["items"]["enum"]) == layout.REGIMES
    assert tuple(experiment["rejection_targets"]["items"]["enum"]) == layout.TARGETS
    assert tuple(experiment["prompt_languages"]["items"]["enum"]) == layout.PROMPT_LANGUAGES
    from workflow_scripts.stages.report.figures import TARGET_NAMES

    assert tuple(TARGET_NAMES) == layout.TARGETS


def test_names_round_trip():
    for target in layout.TARGETS:
        for plang in layout.PROMPT_LANGUAGES:
            name = layout.dpo_dataset(target, plang)
            assert re.fullmatch(layout.DATASET_RE, name) and re.fullmatch(layout.SAMPLED_DATASET_RE, name)
            assert layout.parse_dataset(name) == {"method": "dpo", "target": target, "prompt_language": plang}
    assert re.fullmatch(layout.DATASET_RE, "sft") and not re.fullmatch(layout.SAMPLED_DATASET_RE, "sft")
    assert layout.parse_sample_source(layout.sample_source("eurollm-9b", True)) == ("eurollm-9b", True)
    assert layout.scope_languages(layout.multi_scope(["de", "da", "en"])) == ["da", "de", "en"]
    training = layout.Training("p", "p+instructed", "mono-da", "maxr")
    assert layout.parse_subject(training.subject) == ("p", training)


def test_snakemake_lint_finds_nothing_but_the_environment_directive(tmp_path):
    """No mixed rules and functions, no undeclared environment variables, no long run blocks. The one lint
    left asks for a conda environment or container per rule: the environments are envs/ (see the README)."""
    ws = make_workspace(tmp_path / "ws")
    result = snakemake(ws, "--lint")
    findings = [line.strip() for line in result.stdout.splitlines() + result.stderr.splitlines() if line.strip().startswith("* ")]
    assert findings and all(f.startswith("* Specify a conda environment or container") for f in findings), findings


def test_no_code_edits_the_import_path():
    """The workflow is a package installed into the environment (pyproject.toml, envs/setup-cpu.sh)."""
    for path in [REPO / "Snakefile", *(REPO / "rules").rglob("*.smk"), *(REPO / "workflow_scripts").rglob("*.py")]:
        text = path.read_text()
        assert "sys.path.insert" not in text and "sys.path.append" not in text and '"PYTHONPATH"' not in text, path


def test_planning_prints_no_caching_noise_without_a_cache(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    result = snakemake(ws, "-n", "--cores", "1")
    assert result.returncode == 0
    assert "eligible for caching" not in result.stdout + result.stderr
    cached = snakemake(ws, "-n", "--cores", "1", env={"SNAKEMAKE_OUTPUT_CACHE": str(tmp_path / "cache")})
    assert "eligible for caching" in cached.stdout + cached.stderr  # with a cache set up, Snakemake says which rules use it
    assert Path(REPO / "pyproject.toml").is_file()
