"""The streaming, columnar pair builders give exactly what a straightforward dict-per-prompt reference (the
way the paper's script works) gives, on random data with ties, skipped samples and non-finite rewards."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.stages.pairs import build_dpo, build_maxr

LANGS = ["da", "de", "en"]


def write_random(tmp_path, rng, prompts=40, samples=8):
    scores, gens, truth = {}, {}, {}
    for lang in LANGS:
        rows_s, rows_g = [], []
        for p in range(prompts):
            pid = f"p{p:03d}"
            for i in range(samples):
                reward = float(np.round(rng.normal(0, 1), 1))  # coarse: ties happen
                status = "skipped" if rng.random() < 0.05 else "scored"
                if status == "scored" and rng.random() < 0.03:
                    reward = math.nan if rng.random() < 0.5 else math.inf
                rows_s.append(
                    {
                        "prompt_id": pid,
                        "language": lang,
                        "sample_index": i,
                        "reward": None if status == "skipped" else reward,
                        "status": status,
                    }
                )
                rows_g.append(
                    {
                        "prompt_id": pid,
                        "language": lang,
                        "sample_index": i,
                        "prompt": f"{pid} in {lang}",
                        "response": f"{pid}/{lang}/{i}",
                    }
                )
                if status == "scored" and math.isfinite(reward):
                    truth.setdefault(lang, {}).setdefault(pid, []).append((reward, LANGS.index(lang), i))
        scores[lang], gens[lang] = str(tmp_path / f"s-{lang}.parquet"), str(tmp_path / f"g-{lang}.parquet")
        pq.write_table(pa.Table.from_pylist(rows_s), scores[lang], row_group_size=50)
        pq.write_table(pa.Table.from_pylist(rows_g), gens[lang], row_group_size=37)
    return scores, gens, truth


def reference_pair(pool, target):
    """pool: [(reward, language index, sample)] -> (chosen, rejected) or None."""
    chosen = min(pool, key=lambda x: (-x[0], x[1], x[2]))
    rewards = [r for r, _, _ in pool]
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    if target.startswith("mean_minus_"):  # any mean − k·std
        goal = mean - float(target[len("mean_minus_") : -len("sigma")]) * std
    elif target.startswith("quantile_"):  # any quantile of the pool, numpy's linear interpolation
        goal = float(np.quantile(np.array(rewards), float(target[len("quantile_") :])))
    else:
        goal = {"min": min(rewards), "q1": float(np.quantile(np.array(rewards), 0.25))}[target]
    below = [x for x in pool if x[0] < chosen[0]]
    if not below:
        return None
    rejected = min(below, key=lambda x: (abs(x[0] - goal), x[0], x[1], x[2]))
    return chosen, rejected


def pools_of(truth, scope):
    pools = {}
    for lang in scope:
        for pid, items in truth.get(lang, {}).items():
            pools.setdefault(pid, []).extend(items)
    return pools


@pytest.mark.parametrize(
    "target", ["mean_minus_2sigma", "q1", "min", "mean_minus_0.5sigma", "mean_minus_3sigma", "quantile_0.1", "quantile_0.75"]
)
@pytest.mark.parametrize("scope", [["de"], LANGS])
def test_dpo_matches_the_reference(tmp_path, target, scope):
    scores, gens, truth = write_random(tmp_path, np.random.default_rng(7))
    table, stats = build_dpo(
        {lang: scores[lang] for lang in scope}, {lang: gens[lang] for lang in scope}, scope, target, "chosen", "exclude", 0
    )
    expected = {}
    for pid, pool in pools_of(truth, scope).items():
        pair = reference_pair(pool, target)
        if pair:
            (cr, cl, cs), (rr, rl, rs) = pair
            expected[pid] = (f"{pid}/{LANGS[cl]}/{cs}", f"{pid}/{LANGS[rl]}/{rs}", cr, rr, f"{pid} in {LANGS[cl]}")
    got = {
        r["prompt_id"]: (r["chosen"], r["rejected"], r["chosen_reward"], r["rejected_reward"], r["prompt"])
        for r in table.to_pylist()
    }
    assert got == expected
    assert stats["pairs"] == len(expected)


@pytest.mark.parametrize("scope", [["en"], LANGS])
def test_maxr_matches_the_reference(tmp_path, scope):
    scores, gens, truth = write_random(tmp_path, np.random.default_rng(11))
    table, _ = build_maxr({lang: scores[lang] for lang in scope}, {lang: gens[lang] for lang in scope}, scope, "exclude")
    expected = {}
    for pid, pool in pools_of(truth, scope).items():
        reward, lang, sample = min(pool, key=lambda x: (-x[0], x[1], x[2]))
        expected[pid] = (f"{pid}/{LANGS[lang]}/{sample}", reward, f"{pid} in {LANGS[lang]}")
    got = {r["prompt_id"]: (r["completion"], r["reward"], r["prompt"]) for r in table.to_pylist()}
    assert got == expected
