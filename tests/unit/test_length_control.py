"""Length-controlled Paired DPO (an experiment's length_control; stages/pairs.py): on pools whose reward grows with
length, the fitted per-language α closes the chosen − rejected length gap, and the pairs are exactly those a
plain per-prompt reference picks on reward − α·length; no α of the grid does better."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts import names
from workflow_scripts.planning import layout
from workflow_scripts.stages.pairs import LENGTH_PENALTY_GRID, build_dpo

LANGS = ["da", "de"]


def write_pools(tmp_path, rng, prompts=30, samples=8):
    """Rewards = 0.05 · tokens + noise (language-dependent slope): longer answers win."""
    scores, gens, truth = {}, {}, {}
    for k, lang in enumerate(LANGS):
        rows_s, rows_g = [], []
        for p in range(prompts):
            pid = f"p{p:02d}"
            for i in range(samples):
                tokens = int(rng.integers(5, 200))
                reward = float(np.round((0.05 + 0.03 * k) * tokens + rng.normal(0, 2), 3))
                rows_s.append({"prompt_id": pid, "language": lang, "sample_index": i, "reward": reward, "status": "scored"})
                rows_g.append(
                    {
                        "prompt_id": pid,
                        "language": lang,
                        "sample_index": i,
                        "prompt": f"{pid} in {lang}",
                        "response": f"{pid}/{lang}/{i}",
                        "response_tokens": tokens,
                    }
                )
                truth.setdefault(lang, {}).setdefault(pid, []).append((reward, tokens, i))
        scores[lang], gens[lang] = str(tmp_path / f"s-{lang}.parquet"), str(tmp_path / f"g-{lang}.parquet")
        pq.write_table(pa.Table.from_pylist(rows_s), scores[lang], row_group_size=40)
        pq.write_table(pa.Table.from_pylist(rows_g), gens[lang], row_group_size=33)
    return scores, gens, truth


def reference(pool, alpha):
    """(chosen, rejected) of one pool on reward − α·tokens: the best, then the nearest below it to mean − 2σ."""
    adjusted = [(r - alpha * t, t, i) for r, t, i in pool]
    chosen = min(adjusted, key=lambda x: (-x[0], x[2]))
    values = [a for a, _, _ in adjusted]
    mean = sum(values) / len(values)
    goal = mean - 2 * math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    below = [x for x in adjusted if x[0] < chosen[0]]
    return (chosen, min(below, key=lambda x: (abs(x[0] - goal), x[0], x[2]))) if below else None


def gap(pools, alpha):
    pairs = [reference(pool, alpha) for pool in pools.values()]
    pairs = [p for p in pairs if p]
    return sum(c[1] - r[1] for c, r in pairs) / len(pairs)


def test_the_fitted_alpha_closes_the_length_gap_and_picks_the_reference_pairs(tmp_path):
    scores, gens, truth = write_pools(tmp_path, np.random.default_rng(5))
    table, stats = build_dpo(scores, gens, LANGS, "mean_minus_2sigma", "chosen", "exclude", 0, length_control=True)
    plain, plain_stats = build_dpo(scores, gens, LANGS, "mean_minus_2sigma", "chosen", "exclude", 0)
    assert plain_stats["length_control"] is None
    fits = stats["length_control"]
    for lang in LANGS:
        pools = truth[lang]
        rewards = np.array([r for pool in pools.values() for r, _, _ in pool])
        tokens = np.array([t for pool in pools.values() for _, t, _ in pool], float)
        scale = rewards.std() / tokens.std()
        fit = fits[lang]
        assert fit["length_gap_before"] == pytest.approx(gap(pools, 0.0)) and fit["length_gap_before"] > 20  # length wins
        assert fit["alpha"] > 0 and abs(fit["length_gap_after"]) < abs(fit["length_gap_before"]) / 4
        assert fit["length_gap_after"] == pytest.approx(gap(pools, fit["alpha"]))
        # no α of the grid gives a smaller gap; the fit is the first with the smallest
        gaps = [abs(gap(pools, step * scale)) for step in LENGTH_PENALTY_GRID]
        assert abs(fit["length_gap_after"]) == pytest.approx(min(gaps))
        assert fit["alpha"] == pytest.approx(LENGTH_PENALTY_GRID[int(np.argmin(np.round(gaps, 9)))] * scale)
    # mono scope: the pairs are the reference's on the adjusted rewards, the table keeps the reward model's rewards
    da, da_stats = build_dpo(
        {"da": scores["da"]}, {"da": gens["da"]}, ["da"], "mean_minus_2sigma", "chosen", "exclude", 0, None, True
    )
    alpha = da_stats["length_control"]["da"]["alpha"]
    got = {r["prompt_id"]: (r["chosen"], r["rejected"], r["chosen_reward"]) for r in da.to_pylist()}
    for pid, pool in truth["da"].items():
        (_, _, ci), (_, _, ri) = reference(pool, alpha)
        raw = {i: r for r, _, i in pool}
        assert got[pid] == (f"{pid}/da/{ci}", f"{pid}/da/{ri}", raw[ci])
    assert got != {
        r["prompt_id"]: (r["chosen"], r["rejected"], r["chosen_reward"])
        for r in plain.to_pylist()
        if r["prompt_language"] == "da"
    }


def test_the_name_carries_it_and_only_paired_dpo_takes_it():
    name = names.length_controlled("dpo-mean_minus_2sigma-chosen")
    assert name == "dpo-mean_minus_2sigma-chosen+length_controlled" and names.parse_dataset(name)["length_control"]
    import re

    assert re.fullmatch(layout.SAMPLED_DATASET_RE, name)
    both = names.length_controlled(names.language_filtered("dpo-q1-chosen"))
    parsed = names.parse_dataset(both)
    assert parsed["length_control"] and parsed["language_filter"] and re.fullmatch(layout.SAMPLED_DATASET_RE, both)
    assert names.length_controlled("maxr") == "maxr"
    with pytest.raises(names.UserError):
        names.parse_dataset("maxr+length_controlled")
