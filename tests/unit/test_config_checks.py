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
        (lambda c: c.update(sampels=3), "sampels", "did you mean 'generation.samples' or 'training.online.samples'?"),
        (
            lambda c: c["training"].update(lerning_rate=1e-5),
            "training.lerning_rate",
            "did you mean 'training.dpo.learning_rate' or 'training.sft.learning_rate'?",
        ),
        (lambda c: c.update(colour="red"), "colour", "(known here: engine, evaluation, "),  # nothing close: no guess
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
