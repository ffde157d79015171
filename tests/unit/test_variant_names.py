"""Experiment variants (`experiments.<name>.settings`): each setting that differs from the global config names
the artifacts it changes and reaches their specs (so their provenance); a value equal to the global one names
nothing, so that variant shares the global artifacts; a list sweeps; the report labels each variant."""

import copy
import re

import pytest
import yaml
from snakemake.utils import validate

from workflow_scripts import names
from workflow_scripts.errors import UserError
from workflow_scripts.planning import layout, plan
from workflow_scripts.planning.specs.sampling import generation_spec
from workflow_scripts.planning.specs.training import curve_spec, training_spec
from workflow_scripts.stages.report.common import method_label

from helpers import MODEL, REPO, load_default_config

MULTI = "multi-da+de+en"
DPO = "dpo-mean_minus_2sigma-chosen"


def with_experiment(settings: dict, methods=("dpo", "maxr", "sft")) -> dict:
    config = load_default_config()
    config["experiments"]["variants"] = {"policy": MODEL, "methods": list(methods), "regimes": ["multi"], "settings": settings}
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def subjects(config: dict, experiment: str = "variants") -> list[str]:
    return [t.subject for t in plan.experiment_trainings(config, config["experiments"][experiment])]


def test_a_sweep_names_each_variant_by_what_differs_and_shares_what_does_not():
    base = with_experiment({})  # validated: the schema's defaults filled in
    beta, samples = base["training"]["dpo"]["beta"], base["generation"]["samples"]
    config = with_experiment({"beta": [beta, 0.2], "samples": [samples, samples * 2]}, methods=("dpo", "maxr"))
    more = f"{MODEL}@samples={samples * 2}"
    assert subjects(config) == [
        f"{MODEL}/{MODEL}/{MULTI}/{DPO}",  # beta and samples as in the global config: main's adapter
        f"{MODEL}/{MODEL}/{MULTI}/maxr",
        f"{MODEL}/{more}/{MULTI}/{DPO}",
        f"{MODEL}/{more}/{MULTI}/maxr",  # beta is not a Max-R setting: one Max-R adapter per sample count
        f"{MODEL}/{MODEL}/{MULTI}/{DPO}@beta=0.2",
        f"{MODEL}/{more}/{MULTI}/{DPO}@beta=0.2",
    ]
    main = set(subjects(config, "main"))
    assert {f"{MODEL}/{MODEL}/{MULTI}/{DPO}", f"{MODEL}/{MODEL}/{MULTI}/maxr"} <= main
    every = [t.subject for t in plan.trainings(config)]
    assert len(every) == len(set(every)) == len(main) + 4  # the shared adapters once
    # the β 0.2 adapter trains on the β 0.1 adapter's pairs: one pair table per sample count
    pairs = plan.report_inputs(config)["pairs"]
    assert [p for p in pairs if MULTI in p] == [
        f"results/datasets/{MODEL}/{MULTI}/{DPO}.parquet",
        f"results/datasets/{more}/{MULTI}/{DPO}.parquet",
    ]
    # ...and both variants are evaluated
    evaluated = {subject for subject, _ in plan.euroeval_jobs(config)}
    assert set(every) <= evaluated


def test_a_variants_settings_reach_its_specs_and_nothing_else():
    config = with_experiment({"beta": 0.2, "learning_rate": 1e-5, "lora_r": 8, "lora_alpha": 16, "max_steps": 3})
    dpo = f"{DPO}@beta=0.2@learning_rate=1e-05@lora_alpha=16@lora_r=8@max_steps=3"
    sft = "sft@learning_rate=1e-05@lora_alpha=16@lora_r=8@max_steps=3"  # beta is DPO's
    assert f"{MODEL}/{MODEL}/{MULTI}/{dpo}" in subjects(config) and f"{MODEL}/translated/{MULTI}/{sft}" in subjects(config)
    plain, varied = training_spec(config, MODEL, DPO), training_spec(config, MODEL, dpo)
    assert (plain.beta, plain.learning_rate) == (config["training"]["dpo"]["beta"], config["training"]["dpo"]["learning_rate"])
    assert (varied.beta, varied.learning_rate, varied.lora.r, varied.lora.alpha) == (0.2, 1e-5, 8, 16)
    assert varied.common.max_steps == 3 and varied.lora.dropout == plain.lora.dropout
    # everything else is the plain adapter's: only the varied fields differ in the provenance
    differ = {key for key in plain.params() if plain.params()[key] != varied.params()[key]}
    assert differ == {"beta", "learning_rate", "lora", "common"}
    assert training_spec(config, MODEL, sft).learning_rate == 1e-5 and training_spec(config, MODEL, sft).beta is None
    # the adapter trains on the plain adapter's data
    assert layout.training_data(MODEL, MULTI, dpo) == f"results/datasets/{MODEL}/{MULTI}/{DPO}.parquet"
    # a curve run keeps the variant's settings but the curves' step count (their step axis is shared)
    curve = curve_spec(config, MODEL, dpo, seed=1).training
    assert curve.beta == 0.2 and curve.common.max_steps == config["training"]["curves"]["max_steps"]


def test_sample_settings_reach_the_generation_spec():
    config = with_experiment({"samples": 9, "temperature": 0.3})
    source = f"{MODEL}@samples=9@temperature=0.3"
    assert f"{MODEL}/{source}/{MULTI}/{DPO}" in subjects(config)
    assert f"{MODEL}/translated/{MULTI}/sft" in subjects(config)  # translations are not samples: shared
    varied, plain = generation_spec(config, source, "da"), generation_spec(config, MODEL, "da")
    assert (varied.samples, varied.temperature) == (9, 0.3)
    assert (plain.samples, plain.temperature) == (config["generation"]["samples"], config["models"][MODEL]["temperature"])
    assert re.fullmatch(layout.samples_re(re.escape(MODEL)), source)


def test_online_runs_carry_the_variants_training_settings():
    config = with_experiment({"beta": 0.3}, methods=("dpo",))
    config["experiments"]["variants"]["curves"] = {"seeds": [1], "online": True}
    runs = [run.dataset for run in plan.experiment_curve_runs(config, config["experiments"]["variants"])]
    assert runs == [f"{DPO}@beta=0.3", "online-dpo-mean_minus_2sigma@beta=0.3"]
    assert re.fullmatch(layout.ONLINE_DATASET_RE + layout.ADAPTER_SETTINGS_RE, runs[1])


def test_names_with_settings_round_trip_and_malformed_ones_are_refused():
    name = names.with_settings(DPO, {"max_steps": 100, "beta": 0.25, "learning_rate": 5e-6})
    assert name == f"{DPO}@beta=0.25@learning_rate=5e-06@max_steps=100"  # sorted, exact
    parsed = names.parse_dataset(name)
    assert parsed["settings"] == {"beta": 0.25, "learning_rate": 5e-6, "max_steps": 100} and parsed["data"] == DPO
    assert re.fullmatch(layout.ADAPTER_DATASET_RE, name) and not re.fullmatch(layout.SAMPLED_DATASET_RE, name)
    assert names.with_settings("maxr", {"lora_alpha": 32.0}) == "maxr@lora_alpha=32"
    assert names.parse_sample_source(f"{MODEL}+instructed@samples=16") == (MODEL, True)
    assert names.sample_settings(f"{MODEL}+instructed@samples=16") == {"samples": 16}
    for bad, says in [
        (f"{DPO}@beta", "@beta"),
        (f"{DPO}@gamma=1", "@gamma=1"),
        ("maxr@beta=0.2", "beta is a DPO setting"),
        (f"{DPO}@samples=3", "@samples=3"),  # a sample setting on an adapter's name
    ]:
        with pytest.raises(UserError, match=re.escape(says)):
            names.parse_dataset(bad)


def test_the_report_labels_each_variant():
    _, plain, _ = method_label(f"{MODEL}/{MODEL}/{MULTI}/{DPO}")
    _, varied, _ = method_label(f"{MODEL}/{MODEL}@samples=16/{MULTI}/{DPO}@beta=0.2")
    assert plain == "Paired DPO (μ−2σ, prompt: chosen)"
    assert varied == plain + " [β 0.2, samples 16]"


@pytest.mark.parametrize(
    "settings",
    [{"beta": 0}, {"samples": [4, 4]}, {"samples": 2.5}, {"lora_dropout": 1.5}, {"beta": []}, {"gamma": 1}],
)
def test_the_schema_refuses_settings_that_cannot_be_a_variant(settings):
    config = load_default_config()
    config["experiments"]["main"]["settings"] = settings
    with pytest.raises(Exception, match="settings"):
        validate(copy.deepcopy(config), str(REPO / "schemas/config.schema.yaml"))


def test_the_schema_lists_exactly_the_settings_names_knows():
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    settings = schema["properties"]["experiments"]["additionalProperties"]["properties"]["settings"]["properties"]
    assert set(settings) == set(names.SAMPLE_SETTINGS + names.ADAPTER_SETTINGS)
    from workflow_scripts.stages.report.common import SETTING_NAMES

    assert set(SETTING_NAMES) == set(settings)
