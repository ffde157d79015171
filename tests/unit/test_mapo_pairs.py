"""MAPO's reference answers and pairs (workflow_scripts/stages/mapo.py) on fixtures worked out by hand."""

import pyarrow as pa

from workflow_scripts.stages.mapo import english_answers, mapo_pairs, repeats_a_line


def test_english_answers_are_deduplicated_without_empty_or_repetitive_ones():
    answers = ["Blue.", " Blue. ", "", None, "One\nTwo", "Same\nSame", "A\n\nB", "x\n\n\nx"]
    # "Same\nSame" repeats a line; "x\n\n\nx" collapses to "x\n\nx": lines x, "", x (x twice): MAPO drops both
    assert english_answers(answers) == ["Blue.", "One\nTwo", "A\n\nB"]
    assert repeats_a_line("a\nb\na") and not repeats_a_line("a\n\nb")
    # blank lines collapse pairwise: four newlines leave one blank line, five leave two (a repeated line)
    assert not repeats_a_line("a\n\n\n\nb") and repeats_a_line("a\n\n\n\n\nb")


def test_each_prompt_pairs_its_highest_with_its_lowest_reward():
    rows = [
        ("p", 0, 0.5, "scored"),
        ("p", 1, 0.9, "scored"),
        ("p", 2, 0.1, "scored"),
        ("p", 3, None, "skipped"),
        ("tie", 0, 0.3, "scored"),
        ("tie", 1, 0.3, "scored"),  # equal rewards: no pair
        ("q", 0, 0.2, "scored"),
        ("q", 1, 0.7, "scored"),
        ("q", 2, 0.7, "scored"),  # a tie for the best: the lower sample index
        ("none", 0, None, "skipped"),
    ]
    table = pa.table({key: [row[i] for row in rows] for i, key in enumerate(["prompt_id", "sample_index", "reward", "status"])})
    pairs, stats = mapo_pairs(table)
    assert pairs == {"p": (1, 2, 0.9, 0.1), "q": (1, 0, 0.7, 0.2)}
    assert stats == {"prompts": 4, "no_scored_samples": 1, "no_pair": 1, "pairs": 2}
