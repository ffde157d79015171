"""Schema violations read as one message naming the key, with a suggestion only where one is close. (Whole
configs through the Snakemake command line: tests/workflow/test_config_validation.py.)"""

import copy

import pytest

from workflow_scripts.planning.config_checks import schema_error

from helpers import REPO, load_default_config


def mutate(fn):
    config = copy.deepcopy(load_default_config())
    fn(config)
    return config


@pytest.mark.parametrize(
    "change, field, hint",
    [
        (lambda c: c["generation"].update(temprature=0.5), "generation.temprature", "did you mean 'temperature'?"),
        (
            lambda c: c.update(sampels=3),
            "sampels",
            "did you mean 'generation.samples' or 'training.online.samples' or 'experiments.<name>.settings.samples'?",
        ),
        (
            lambda c: c["training"].update(lerning_rate=1e-5),
            "training.lerning_rate",
            "did you mean 'training.dpo.learning_rate' or 'training.sft.learning_rate' or "
            "'experiments.<name>.settings.learning_rate'?",
        ),
        # an experiment's own value of a global setting is a variant's setting
        (
            lambda c: c["experiments"]["main"].update(beta=0.2),
            "experiments.main.beta",
            "did you mean 'training.dpo.beta' or 'experiments.<name>.settings.beta'?",
        ),
        (lambda c: c.update(colour="red"), "colour", "(known here: cost, engine, evaluation, "),  # nothing close: no guess
    ],
)
def test_unknown_keys_get_a_suggestion_only_when_one_is_close(change, field, hint):
    error = schema_error(mutate(change), REPO / "schemas/config.schema.yaml")
    assert error.field == field and error.message.startswith("unknown key") and hint in error.message
    assert ("did you mean" in error.message) == hint.startswith("did you mean")  # a guess only where one is close


def test_monolingual_dpo_from_one_sample_is_refused_before_any_job():
    """A pool of one prompt in one language has one sample at generation.samples: 1, and no pair: the config check
    says so; multilingual pools (one sample per language) can still pair."""
    from snakemake.utils import validate

    from workflow_scripts.errors import UserError
    from workflow_scripts.planning.config_checks import check_config

    def checked(change):
        config = mutate(change)
        validate(config, str(REPO / "schemas/config.schema.yaml"))
        check_config(config, REPO)

    with pytest.raises(UserError, match="at least 2 samples") as error:
        checked(lambda c: c["generation"].update(samples=1))
    assert error.value.field == "generation.samples"
    checked(lambda c: (c["generation"].update(samples=1), c["experiments"]["main"].update(regimes=["multi"])))


def checked_french(change=lambda c: None):
    """The demo with French added the way a new user first tries it (a translator; nothing else changed)."""
    from snakemake.utils import validate

    from workflow_scripts.planning.config_checks import check_config, config_warnings

    def french(c):
        c["languages"].append("fr")
        c["translation"] = {"model": "smollm2-135m"}
        change(c)

    config = mutate(french)
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    check_config(config, REPO)
    return config_warnings(config)


def test_adding_a_language_fails_at_planning_for_each_configuration_reason_then_warns():
    """What used to fail minutes into a run (m-ArenaHard prompts or a EuroEval dataset from the Hub while offline)
    or to pass silently (a comparison naming the old pool, adapters never evaluated) is said by the checks that
    run before any job, one at a time, each with the way out."""
    from workflow_scripts.errors import UserError

    with pytest.raises(UserError, match="m-ArenaHard prompts in 'fr' would come from the Hub .* and offline is true") as e:
        checked_french()
    assert e.value.field == "evaluation.arena.prompts.files.fr"

    def arena_without_french(c):
        c["evaluation"]["arena"]["languages"] = ["en", "da", "de"]

    with pytest.raises(UserError, match=r"did you mean '.*/multi-da\+de\+en\+fr/dpo-mean_minus_2sigma-chosen'\?") as e:
        checked_french(arena_without_french)
    assert e.value.field == "evaluation.arena.comparisons.multi-dpo-vs-base.model"

    def renamed(c):
        arena_without_french(c)
        for pair in c["evaluation"]["arena"]["comparisons"].values():
            pair["model"] = pair["model"].replace("multi-da+de+en/", "multi-da+de+en+fr/")

    warnings = checked_french(renamed)
    assert len(warnings) == 1 and warnings[0].startswith("3 adapter(s) are trained but never evaluated")
    assert all(f"mono-fr/{name}" in warnings[0] for name in ("dpo-mean_minus_2sigma-chosen", "maxr", "sft"))

    def hub_dataset(c):
        renamed(c)
        c["evaluation"]["euroeval"]["datasets"]["fr"] = ["scala-fr"]

    with pytest.raises(UserError, match="'scala-fr' is not a local dataset .* and offline is true") as e:
        checked_french(hub_dataset)
    assert e.value.field == "evaluation.euroeval.datasets.fr"

    def online(c):
        hub_dataset(c)
        c["offline"] = False

    assert checked_french(online) == []  # online, French is evaluated on scala-fr: every adapter somewhere
