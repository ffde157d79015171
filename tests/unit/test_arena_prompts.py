"""m-ArenaHard prompt files: the Hub's column names, local files, and clear errors naming file and field."""

import json

import pyarrow as pa
import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.stages.arena.prompts import ArenaPromptsSpec, load_arena_prompts, normalize_arena_prompts


def spec(lang: str, file: str | None = None, hub: str | None = None) -> ArenaPromptsSpec:
    return ArenaPromptsSpec(
        language=lang, file=file, file_sha256=None, hub=hub, split="test", revision=None, limit=None, software={}, code=""
    )


def test_hub_style_columns_are_normalized():
    table = pa.table(
        {
            "question_id": [1, 2],
            "category": ["math", "coding"],
            "cluster": ["algebra", None],
            "prompt": ["What is x?", "Write code."],
        }
    )
    out = normalize_arena_prompts(table, "hf://x", "de")
    assert out.column("prompt_id").to_pylist() == ["1", "2"]
    assert out.column("subcategory").to_pylist() == ["algebra", None]
    assert out.column("language").to_pylist() == ["de", "de"]


def test_the_demo_files_load():
    for lang in ("en", "da", "de"):
        table = load_arena_prompts(spec(lang, file=f"data/arena/{lang}.jsonl"), lang)
        assert table.num_rows == 6 and None not in table.column("subcategory").to_pylist()


@pytest.mark.parametrize(
    "rows, field, message",
    [
        ([], None, "empty"),
        ([{"prompt_id": "a", "prompt": "x"}, {"prompt_id": "a", "prompt": "y"}], "prompt_id", "duplicate"),
        ([{"prompt_id": "a", "prompt": ""}], "prompt", "empty"),
        ([{"prompt_id": "a", "text": "x"}], "prompt", "missing"),
    ],
)
def test_bad_prompt_files_name_file_and_field(tmp_path, rows, field, message):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError) as error:
        load_arena_prompts(spec("da", file=str(path)), "da")
    text = str(error.value)
    assert str(path) in text and message in text.lower()
    if field:
        assert field in text


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserError) as error:
        load_arena_prompts(spec("da", hub="CohereLabs/m-ArenaHard-v2.0"), "da")
    assert "CohereLabs/m-ArenaHard-v2.0" in str(error.value) and "evaluation.arena.prompts" in str(error.value)
