"""Dataset builders on small hand-made Parquet files: texts, prompt languages, counts and errors."""

import math

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.stages.pairs import build_dpo, build_maxr, random_language


def write_language(tmp_path, lang, rewards, statuses=None):
    """rewards: {prompt_id: [reward per sample]}; returns (scores path, generations path)."""
    rows_s, rows_g = [], []
    for pid, values in rewards.items():
        for i, r in enumerate(values):
            status = (statuses or {}).get((pid, i), "scored")
            rows_s.append(
                {
                    "prompt_id": pid,
                    "language": lang,
                    "sample_index": i,
                    "reward": None if status == "skipped" else r,
                    "status": status,
                }
            )
            rows_g.append(
                {
                    "prompt_id": pid,
                    "language": lang,
                    "sample_index": i,
                    "prompt": f"{pid} prompt in {lang}",
                    "response": f"{pid}/{lang}/{i}",
                }
            )
    s, g = tmp_path / f"scores-{lang}.parquet", tmp_path / f"gen-{lang}.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            rows_s,
            schema=pa.schema(
                [
                    ("prompt_id", pa.string()),
                    ("language", pa.string()),
                    ("sample_index", pa.int32()),
                    ("reward", pa.float64()),
                    ("status", pa.string()),
                ]
            ),
        ),
        s,
    )
    pq.write_table(pa.Table.from_pylist(rows_g), g, row_group_size=3)  # several row groups
    return str(s), str(g)


def test_monolingual_pairs_carry_texts_scores_and_counts(tmp_path):
    s, g = write_language(
        tmp_path,
        "da",
        {
            "p1": [0.0, 3.0, 1.0, 2.0],
            "p2": [1.0, 1.0],  # all equal: unpairable
            "p3": [5.0],  # single sample: unpairable
            "p4": [2.0, math.nan, 1.0],  # NaN excluded and counted
            "p5": [9.0, 1.0],  # sample 0 skipped (too long): a pool of one remains
        },
        statuses={("p5", 0): "skipped"},
    )
    table, stats = build_dpo({"da": s}, {"da": g}, ["da"], "min", "chosen", "exclude", 0)
    rows = {r["prompt_id"]: r for r in table.to_pylist()}
    assert set(rows) == {"p1", "p4"}
    assert rows["p1"]["chosen"] == "p1/da/1" and rows["p1"]["rejected"] == "p1/da/0"
    assert rows["p1"]["prompt"] == "p1 prompt in da" and rows["p1"]["pool_size"] == 4
    assert rows["p4"]["chosen_reward"] == 2.0 and rows["p4"]["rejected_reward"] == 1.0 and rows["p4"]["pool_size"] == 2
    assert stats["unpairable"] == {"no_scored_samples": 0, "single_sample": 2, "all_rewards_equal": 1}
    assert stats["excluded_samples"] == {"samples": 12, "skipped": 1, "non_finite": 1}
    assert stats["prompts"] == 5 and stats["pairs"] == 2


def test_non_finite_rewards_fail_when_configured(tmp_path):
    s, g = write_language(tmp_path, "da", {"p1": [1.0, math.inf]})
    with pytest.raises(UserError) as err:
        build_dpo({"da": s}, {"da": g}, ["da"], "min", "chosen", "error", 0)
    assert "scores-da.parquet" in str(err.value) and "reward" in str(err.value)


def test_multilingual_pool_and_prompt_language_variants(tmp_path):
    sd, gd = write_language(tmp_path, "da", {"p1": [0.0, 1.0], "p2": [4.0, 0.5]})
    se, ge = write_language(tmp_path, "en", {"p1": [5.0, 2.0], "p2": [3.0, 1.0]})
    scores, gens = {"da": sd, "en": se}, {"da": gd, "en": ge}
    chosen, stats = build_dpo(scores, gens, ["da", "en"], "min", "chosen", "exclude", 0)
    rows = {r["prompt_id"]: r for r in chosen.to_pylist()}
    assert (rows["p1"]["chosen_language"], rows["p1"]["rejected_language"]) == ("en", "da")
    assert rows["p1"]["chosen"] == "p1/en/0" and rows["p1"]["rejected"] == "p1/da/0"
    assert rows["p1"]["prompt"] == "p1 prompt in en" and rows["p1"]["pool_size"] == 4
    assert (rows["p2"]["chosen"], rows["p2"]["rejected"]) == ("p2/da/0", "p2/da/1")
    assert stats["language_matrix"] == {"en": {"da": 1}, "da": {"da": 1}}
    rejected, _ = build_dpo(scores, gens, ["da", "en"], "min", "rejected", "exclude", 0)
    assert {r["prompt_id"]: r["prompt"] for r in rejected.to_pylist()}["p1"] == "p1 prompt in da"
    random_table, _ = build_dpo(scores, gens, ["da", "en"], "min", "random", "exclude", 7)
    for r in random_table.to_pylist():
        lang = random_language(7, r["prompt_id"], ["da", "en"])
        assert r["prompt_language"] == lang and r["prompt"] == f"{r['prompt_id']} prompt in {lang}"


def test_maxr_keeps_the_single_best_across_languages(tmp_path):
    sd, gd = write_language(tmp_path, "da", {"p1": [0.0, 7.0]})
    se, ge = write_language(tmp_path, "en", {"p1": [5.0, 2.0]})
    table, stats = build_maxr({"da": sd, "en": se}, {"da": gd, "en": ge}, ["da", "en"], "exclude")
    assert table.to_pylist() == [
        {
            "prompt_id": "p1",
            "language": "da",
            "prompt": "p1 prompt in da",
            "completion": "p1/da/1",
            "reward": 7.0,
            "sample_index": 1,
            "pool_size": 4,
        }
    ]
    assert stats["chosen_languages"] == {"da": 1}


def test_scores_with_missing_or_mistyped_columns_name_file_and_field(tmp_path):
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"prompt_id": ["a"], "language": ["da"], "sample_index": [0], "status": ["scored"]}), path)
    with pytest.raises(UserError, match=r"scores.parquet.*'reward'"):
        build_maxr({"da": str(path)}, {"da": str(path)}, ["da"], "exclude")
    pq.write_table(
        pa.table({"prompt_id": ["a"], "language": ["da"], "sample_index": [0], "reward": ["high"], "status": ["scored"]}), path
    )
    with pytest.raises(UserError, match=r"field 'reward'.*expected float"):
        build_maxr({"da": str(path)}, {"da": str(path)}, ["da"], "exclude")


def test_scores_of_samples_the_generations_lack_are_named(tmp_path):
    """The pairs read their texts from the generations: a scored sample with no text there is an error naming the
    generations file, not a KeyError."""
    s, g = write_language(tmp_path, "da", {"p1": [1.0, 0.0, -1.0], "p2": [2.0, 1.0, 0.0]})
    generations = pq.read_table(g)
    pq.write_table(generations.filter(pc.not_equal(generations.column("prompt_id"), "p2")), g)  # p2 lost
    with pytest.raises(UserError, match=r"\[file .*gen-da.parquet, field 'prompt_id, sample_index'\] .*e\.g\. prompt p2"):
        build_dpo({"da": s}, {"da": g}, ["da"], "mean_minus_2sigma", "chosen", "exclude", 0)
    with pytest.raises(UserError, match=r"not in the generations"):
        build_maxr({"da": s}, {"da": g}, ["da"], "exclude")
