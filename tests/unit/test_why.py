"""The one-line rerun explanations of `python -m workflow_scripts.planning.why` (the DAG part runs in
tests/workflow/test_workflow_end_to_end.py)."""

from workflow_scripts.planning.why import MISSING, describe_differences, parse_recorded, spec_differences


def test_differences_name_dotted_keys_with_both_values():
    old = {"beta": 0.1, "lora": {"r": 16, "alpha": 32}, "languages": ["da", "de"], "code": "abc"}
    new = {"beta": 0.2, "lora": {"r": 16, "alpha": 64}, "languages": ["da", "de", "fr"], "code": "abc", "seed": 1}
    assert spec_differences(old, new) == [
        ("beta", 0.1, 0.2),
        ("lora.alpha", 32, 64),
        ("languages", ["da", "de"], ["da", "de", "fr"]),
        ("seed", MISSING, 1),
    ]
    line = describe_differences(spec_differences(old, new))
    assert line == "beta 0.1 → 0.2; lora.alpha 32 → 64; languages ['da', 'de'] → ['da', 'de', 'fr']; seed (none) → 1"
    assert spec_differences(old, dict(old)) == []


def test_long_values_are_cut_and_strings_quoted():
    line = describe_differences(spec_differences({"prompt": "x" * 100}, {"prompt": "y"}))
    assert line == "prompt '" + "x" * 56 + "... → 'y'"


def test_recorded_params_are_read_back_as_the_spec():
    assert parse_recorded({"{'beta': 0.1, 'lora': {'r': 16}}"}) == {"beta": 0.1, "lora": {"r": 16}}
    assert parse_recorded(set()) == {} and parse_recorded({"<unreadable>"}) == {}
