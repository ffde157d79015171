"""Pair selection against hand-computed cases and a straightforward reference implementation."""

import math

import numpy as np
import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.stages.pairs import select


def pick(rewards, target="mean_minus_2sigma", langs=None, samples=None, groups=None):
    n = len(rewards)
    sel = select(
        np.zeros(n, int) if groups is None else np.array(groups),
        np.zeros(n, int) if langs is None else np.array(langs),
        np.arange(n) if samples is None else np.array(samples),
        np.array(rewards, float),
        target,
    )
    return sel


def test_mean_minus_two_sigma_uses_population_std():
    sel = pick([1, 2, 3, 4, 5])
    # mean 3, population std sqrt(2): target 3 - 2*1.4142 = 0.1716 -> nearest below 5 is 1
    assert sel.std[0] == pytest.approx(math.sqrt(2))
    assert sel.target_value[0] == pytest.approx(3 - 2 * math.sqrt(2))
    assert sel.chosen[0] == 4 and sel.rejected[0] == 0


def test_q1_and_min_targets():
    assert pick([1, 2, 3, 4, 5], "q1").rejected[0] == 1  # q1 = 2 exactly
    sel = pick([4, 1, 2, 3], "q1")  # q1 = 1 + 0.75 * (2 - 1) = 1.75 -> reward 2 (index 2)
    assert sel.target_value[0] == pytest.approx(1.75) and sel.rejected[0] == 2
    assert pick([3, 9, 1, 5], "min").rejected[0] == 2


def test_pool_of_two_pairs_best_with_worst():
    sel = pick([1.0, 3.0])
    assert sel.pool_size[0] == 2 and sel.chosen[0] == 1 and sel.rejected[0] == 0


def test_pool_of_one_and_all_equal_cannot_pair():
    assert pick([0.5]).rejected[0] == -1
    sel = pick([2.0, 2.0, 2.0])
    assert sel.rejected[0] == -1 and sel.pool_size[0] == 3 and sel.std[0] == 0


def test_rejected_is_strictly_below_chosen():
    # Two samples tie for the best; the other best must not be the rejected one.
    sel = pick([5.0, 5.0, 1.0], "q1")  # q1 = 3; candidates below 5: only reward 1
    assert sel.chosen[0] == 0 and sel.rejected[0] == 2


def test_chosen_tie_break_prefers_earlier_language_then_lower_sample():
    sel = pick([7, 7, 7, 0], langs=[1, 0, 0, 0], samples=[0, 3, 2, 1])
    assert sel.chosen[0] == 2  # language 0, sample 2


def test_rejected_tie_break_prefers_lower_reward_then_sample():
    # n=3: q1 = (0 + 2) / 2 = 1, equidistant from 0 and 2 -> the lower reward, 0
    assert pick([0.0, 2.0, 10.0], "q1").rejected[0] == 0
    # equal rewards at equal distance -> lower sample index
    sel = pick([1.0, 1.0, 5.0], "min", samples=[3, 1, 0])
    assert sel.rejected[0] == 1


def test_multilingual_pool_spans_languages():
    # one prompt, two languages: best in language 1, lowest in language 0
    sel = pick([0.1, 0.5, 2.0, 0.7], "min", langs=[0, 0, 1, 1], samples=[0, 1, 0, 1])
    assert sel.pool_size[0] == 4 and sel.chosen[0] == 2 and sel.rejected[0] == 0


def test_groups_are_independent():
    sel = pick([1, 2, 3, 9, 9], groups=[0, 0, 0, 1, 1])
    assert list(sel.group) == [0, 1]
    assert list(sel.rejected) == [0, -1]


def test_unknown_target_is_a_user_error():
    with pytest.raises(UserError, match="rejection target"):
        pick([1, 2], "median")


def reference_select(groups, langs, samples, rewards, target):
    """Plain per-pool implementation of the documented rules."""
    out = {}
    for g in sorted(set(groups)):
        rows = [i for i in range(len(groups)) if groups[i] == g]
        r = np.array([rewards[i] for i in rows])
        chosen = min(rows, key=lambda i: (-rewards[i], langs[i], samples[i]))
        if target == "mean_minus_2sigma":
            t = r.mean() - 2 * r.std()
        elif target == "q1":
            t = np.quantile(r, 0.25)
        else:
            t = r.min()
        cands = [i for i in rows if rewards[i] < rewards[chosen]]
        rejected = min(cands, key=lambda i: (abs(rewards[i] - t), rewards[i], langs[i], samples[i])) if cands else -1
        out[g] = (chosen, rejected, len(rows))
    return out


@pytest.mark.parametrize("target", ["mean_minus_2sigma", "q1", "min"])
def test_matches_reference_on_random_pools(target):
    rng = np.random.default_rng(7)
    for trial in range(30):
        n = int(rng.integers(1, 200))
        groups = rng.integers(0, 12, n)
        langs = rng.integers(0, 3, n)
        samples = rng.permutation(n)
        rewards = rng.integers(-3, 4, n).astype(float) / 2  # coarse values force many ties
        sel = select(groups, langs, samples, rewards, target)
        ref = reference_select(groups.tolist(), langs.tolist(), samples.tolist(), rewards.tolist(), target)
        got = {int(g): (int(c), int(r), int(s)) for g, c, r, s in zip(sel.group, sel.chosen, sel.rejected, sel.pool_size)}
        assert got == ref, f"trial {trial}"


def test_online_pairs_follow_the_offline_rule_and_fall_back_to_no_signal():
    from workflow_scripts.stages.training.online_dpo import select_pairs

    # prompt 0: rewards 1..4 (mean 2.5, std 1.118: target 0.26, nearest strictly below 4 is 1); prompt 1: all tied;
    # prompt 2: nothing scored
    owner = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    rewards = np.array([1.0, 5.0, np.nan, 2.0, 5.0, np.nan, 3.0, 5.0, np.nan, 4.0, 5.0, np.nan])
    chosen, rejected, unpairable = select_pairs(rewards, owner, 3, "mean_minus_2sigma")
    assert rewards[chosen[0]] == 4.0 and rewards[rejected[0]] == 1.0
    assert chosen[1] == rejected[1] and chosen[2] == rejected[2] and unpairable == 2
    assert owner[chosen].tolist() == owner[rejected].tolist() == [0, 1, 2]
