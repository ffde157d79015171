"""Prompt sets and translation formats: duplicate, empty and missing prompts named by file and field."""

import json

import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.tables import read_table
from workflow_scripts.stages.prompts.prompt_set import align_translation, load_source_prompts
from workflow_scripts.stages.prompts.translate import resolve_format, translation_turn


def test_translategemma_and_instruction_formats():
    assert resolve_format("auto", "Infomaniak-AI/vllm-translategemma-27b-it") == "translategemma"
    assert resolve_format("auto", "results/models/smollm2-135m") == "instruction"
    assert translation_turn("Hello", "en", "da", "translategemma", "") == "<<<source>>>en<<<target>>>da<<<text>>>Hello"
    text = translation_turn("Hello", "en", "de", "instruction", "From {source} to {target}: {text}")
    assert text == "From English to German: Hello"


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_source_prompts_reject_duplicates_empty_files_and_empty_fields(tmp_path):
    ok = {"prompt_id": "a", "prompt": "Hi", "reference": "Hello"}
    with pytest.raises(UserError, match="duplicate prompt ids: a"):
        load_source_prompts(write_jsonl(tmp_path / "d.jsonl", [ok, ok]), "en")
    with pytest.raises(UserError, match="empty"):
        load_source_prompts(write_jsonl(tmp_path / "e.jsonl", []), "en")
    with pytest.raises(UserError, match=r"field 'reference'"):
        load_source_prompts(write_jsonl(tmp_path / "r.jsonl", [{"prompt_id": "a", "prompt": "Hi", "reference": " "}]), "en")
    with pytest.raises(UserError, match=r"field 'prompt'.*missing column"):
        load_source_prompts(write_jsonl(tmp_path / "m.jsonl", [{"prompt_id": "a", "text": "Hi", "reference": "x"}]), "en")


def test_translation_must_cover_every_source_id_and_keeps_source_order(tmp_path):
    source = load_source_prompts(
        write_jsonl(
            tmp_path / "en.jsonl",
            [{"prompt_id": "a", "prompt": "One", "reference": "1"}, {"prompt_id": "b", "prompt": "Two", "reference": "2"}],
        ),
        "en",
    )
    da = write_jsonl(
        tmp_path / "da.jsonl",
        [{"prompt_id": "b", "prompt": "To", "reference": "2"}, {"prompt_id": "a", "prompt": "En", "reference": "1"}],
    )
    table = align_translation(source, read_table(da), da, "da", "provided")
    assert table.column("prompt").to_pylist() == ["En", "To"]
    short = write_jsonl(tmp_path / "short.jsonl", [{"prompt_id": "a", "prompt": "En", "reference": "1"}])
    with pytest.raises(UserError, match=r"short.jsonl.*lacks 1 prompt\(s\) the source has: b"):
        align_translation(source, read_table(short), short, "da", "provided")


def test_a_translation_holding_an_id_the_source_lacks_is_named_not_dropped(tmp_path):
    """Every language holds exactly the source's ids: an id the source file does not have is an error (an id
    beyond prompts.limit is not: the translation may cover more of the source than a run uses)."""
    rows = [{"prompt_id": "a", "prompt": "One", "reference": "1"}, {"prompt_id": "b", "prompt": "Two", "reference": "2"}]
    source = load_source_prompts(write_jsonl(tmp_path / "en.jsonl", rows), "en", limit=1)
    da = [{"prompt_id": "a", "prompt": "En", "reference": "1"}, {"prompt_id": "b", "prompt": "To", "reference": "2"}]
    covered = write_jsonl(tmp_path / "da.jsonl", da)
    table = align_translation(source, read_table(covered), covered, "da", "provided", source_ids={"a", "b"})
    assert table.column("prompt_id").to_pylist() == ["a"]
    extra = write_jsonl(tmp_path / "extra.jsonl", da + [{"prompt_id": "zz", "prompt": "Ekstra", "reference": "3"}])
    with pytest.raises(
        UserError, match=r"\[file .*extra.jsonl, field 'prompt_id'\] 1 prompt id\(s\) the source does not have: zz"
    ):
        align_translation(source, read_table(extra), extra, "da", "provided", source_ids={"a", "b"})
