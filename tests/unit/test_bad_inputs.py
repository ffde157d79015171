"""Bad inputs that reach a step: a clear message naming the file and the field, or an exclusion that is counted."""

import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.models import require_adapter_dir
from workflow_scripts.stages.scoring import skip_reasons


def test_empty_responses_are_skipped_with_their_reason_never_scored():
    reasons = skip_reasons(["A fine answer.", "", "   \n", None, "word " * 50], [10, 2, 3, 0, 300], limit=100)
    assert reasons[:4] == [None, "empty response", "empty response", "empty response"]
    assert reasons[4] == "too long for the reward model: 300 > 100 tokens"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d, "is not a LoRA adapter directory (adapter_config.json is missing)"),
        (lambda d: d / "missing", "does not exist"),
    ],
)
def test_an_adapter_directory_without_its_config_is_named(tmp_path, make, message):
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    path = make(tmp_path)
    with pytest.raises(UserError) as err:
        require_adapter_dir(path)
    assert message in str(err.value)
    assert f"file {path}" in str(err.value) and "field 'adapter_config.json'" in str(err.value)
