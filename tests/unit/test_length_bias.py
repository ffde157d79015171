"""The report's length-bias section (stages/report/lengths.py) on tables written here, so that every figure is
known: the lengths come from the generation tables (characters counted by Arrow, tokens from the column), the
correlation from the scores, the chosen/rejected comparison from the pair tables."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.stages.report.lengths import length_html, length_plot, length_tables


def write(path, table: dict, row_group_size=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path, row_group_size=row_group_size)
    return path


@pytest.fixture
def tables(tmp_path):
    # Danish: 2 prompts x 3 samples; the reward grows with length (response i of a prompt has 10*(i+1) chars)
    responses = ["a" * 10, "ø" * 20, "b" * 30, "c" * 10, "d" * 20, None]
    generation = write(
        tmp_path / "results/generations/m/da.parquet",
        {
            "prompt_id": ["p1", "p1", "p1", "p2", "p2", "p2"],
            "language": ["da"] * 6,
            "sample_index": pa.array([0, 1, 2, 0, 1, 2], pa.int32()),
            "response": responses,
            "response_tokens": pa.array([3, 6, 9, 3, 6, 0], pa.int32()),
        },
        row_group_size=4,  # read one row group at a time: two of them
    )
    scores = write(
        tmp_path / "results/scores/m/da.parquet",
        {
            "prompt_id": ["p1", "p1", "p1", "p2", "p2", "p2"],
            "sample_index": pa.array([0, 1, 2, 0, 1, 2], pa.int32()),
            "reward": [1.0, 2.0, 3.0, 1.5, 2.5, 0.0],
            "status": ["scored"] * 5 + ["skipped"],
        },
    )
    # p1: chosen the longest (sample 2), rejected the shortest; p2: chosen sample 1 (20 chars), rejected sample 0
    pairs = write(
        tmp_path / "results/datasets/m/mono-da/dpo-mean_minus_2sigma-chosen.parquet",
        {
            "prompt_id": ["p1", "p2"],
            "chosen_language": ["da", "da"],
            "rejected_language": ["da", "da"],
            "chosen_sample": pa.array([2, 1], pa.int32()),
            "rejected_sample": pa.array([0, 0], pa.int32()),
        },
    )
    return [generation], [scores], [pairs]


def test_lengths_of_chosen_and_rejected_and_the_correlation(tables, tmp_path):
    correlations, pairs = length_tables(*tables)
    row = correlations.iloc[0]
    # 5 scored samples; chars 10,20,30,10,20 (ranks 1.5,3.5,5,1.5,3.5) against rewards 1,2,3,1.5,2.5 (ranks
    # 1,3,5,2,4): Pearson of the ranks = 9 / sqrt(9 * 10)
    assert row["source"] == "m" and row["language"] == "da" and row["samples"] == 5
    assert row["spearman_chars"] == pytest.approx(9 / 90**0.5)
    assert row["spearman_tokens"] == pytest.approx(row["spearman_chars"])  # tokens are chars / 10 * 3 here
    assert len(pairs) == 1
    pair = pairs.iloc[0]
    assert (pair["regime"], pair["language"], pair["dataset"], pair["pairs"]) == ("mono", "da", "dpo-mean_minus_2sigma-chosen", 2)
    assert pair["chosen_chars"] == (30 + 20) / 2 and pair["rejected_chars"] == 10
    assert pair["chosen_tokens"] == (9 + 6) / 2 and pair["rejected_tokens"] == 3
    assert pair["chosen_longer_tokens"] == 1.0 and pair["chosen_longer_chars"] == 1.0 and pair["same_length_tokens"] == 0
    html = length_html(correlations, pairs)
    assert "+0.95" in html and "<td>100%</td><td>0%</td><td>100%</td>" in html
    length_plot(correlations, pairs, tmp_path / "lengths.png")
    assert (tmp_path / "lengths.png").stat().st_size > 5000


def test_a_multibyte_response_counts_characters_not_bytes(tables):
    _, pairs = length_tables(*tables)
    # p2's chosen response is 20 'ø' (40 bytes in UTF-8): counted as 20 characters
    assert pairs.iloc[0]["chosen_chars"] == 25


def test_without_pairs_the_section_says_so(tmp_path):
    correlations, pairs = length_tables([], [], [])
    assert pairs.empty and "No pair table" in length_html(correlations, pairs)
