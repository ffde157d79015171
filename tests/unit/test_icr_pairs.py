"""ICR's length-controlled pairs (workflow_scripts/stages/icr.py) on a fixture worked out by hand.

Two prompts, three samples each; score = reward − α·characters, chosen = argmax, rejected = argmin.
  p0: rewards [3.25, 1, 2], lengths [300, 100, 100]
      chosen 0 while 3.25 − 300α > 2 − 100α, i.e. α < 0.00625, then 2;
      rejected 1 while 1 − 100α < 3.25 − 300α, i.e. α < 0.01125, then 0.
      gap (chosen − rejected length): 200 for α ≤ 0.006, 0 for 0.007 ≤ α ≤ 0.011, −200 from 0.012.
  p1: rewards [0, 5, 4], lengths [100, 400, 100]
      chosen 1 while 5 − 400α > 4 − 100α, i.e. α < 1/300, then 2;
      rejected 0 while −100α < 5 − 400α, i.e. α < 1/60, then 1.
      gap: 300 for α ≤ 0.003, 0 for 0.004 ≤ α ≤ 0.016, −300 from 0.017.
  Mean gap: 250 (α ≤ 0.003), 100 (0.004–0.006), 0 from 0.007 to 0.011: ICR keeps the first α with the
  smallest absolute gap, 0.007, where p0 pairs sample 2 over 1 and p1 sample 2 over 0.
"""

import numpy as np
import pyarrow as pa
import pytest

from workflow_scripts.stages.icr import ALPHA_GRID, icr_pairs, length_gap, search_alpha

REWARD = np.array([[3.25, 1.0, 2.0], [0.0, 5.0, 4.0]])
LENGTH = np.array([[300.0, 100.0, 100.0], [100.0, 400.0, 100.0]])


def table(rows):
    """An implicit-reward table (the columns the pair builder reads) from (prompt, sample, reward, chars, status)."""
    keys = ["prompt_id", "sample_index", "reward", "characters", "status"]
    cols = {key: [row[i] for row in rows] for i, key in enumerate(keys)}
    return pa.table({**cols, "language": ["da"] * len(rows)})


def test_the_gap_at_each_alpha_is_the_hand_computed_one():
    for alpha, gap in [(0.0, 250), (0.003, 250), (0.004, 100), (0.006, 100), (0.007, 0), (0.011, 0), (0.012, -100), (0.02, -250)]:
        assert length_gap(REWARD, LENGTH, alpha) == gap, alpha


def test_alpha_is_the_first_of_the_grid_with_the_smallest_gap():
    alpha, gaps = search_alpha(REWARD, LENGTH)
    assert alpha == pytest.approx(0.007) and alpha == ALPHA_GRID[7]
    assert len(gaps) == 1000 and ALPHA_GRID[0] == 0 and ALPHA_GRID[-1] == pytest.approx(0.999)  # ICR's grid
    assert gaps[:8] == [250, 250, 250, 250, 100, 100, 100, 0]


def test_pairs_take_the_length_controlled_extremes_and_count_prompts_without_one():
    rows = [("p0", i, REWARD[0, i], LENGTH[0, i], "scored") for i in range(3)]
    rows += [("p1", i, REWARD[1, i], LENGTH[1, i], "scored") for i in range(3)]
    rows += [("tie", i, 1.0, 50, "scored") for i in range(3)]  # every score equal: no pair
    rows += [("skipped", i, None, 70, "skipped") for i in range(2)]  # nothing scored
    rows += [("p2", 0, 9.0, 10, "scored"), ("p2", 1, None, 5000, "skipped"), ("p2", 2, 1.0, 10, "scored")]
    pairs, stats = icr_pairs(table(rows))
    # equal lengths on "tie" leave α where p0 and p1 put it; p2's skipped sample is never picked
    assert stats["alpha"] == pytest.approx(0.007)
    assert set(pairs) == {"p0", "p1", "p2"}
    assert pairs["p0"][:2] == (2, 1) and pairs["p1"][:2] == (2, 0) and pairs["p2"][:2] == (0, 2)
    assert pairs["p0"][2:] == pytest.approx((2 - 0.7, 1 - 0.7))  # the length-controlled scores
    assert (stats["prompts"], stats["no_scored_samples"], stats["no_pair"], stats["pairs"]) == (5, 1, 1, 3)
    assert stats["length_gap_without_control"] == pytest.approx((200 + 300 + 0 + 0) / 4)
