"""Training data from scored samples: Paired DPO, Max-R SFT and In-Lang / All-Lang SFT.

Selection works on columns (numpy arrays of keys and rewards); response texts are read afterwards,
streaming the generation files, for the selected samples only.

Paired DPO (per pool: one prompt in one language, or one prompt across the scope's languages):
- chosen: the highest reward. Ties: earlier language in the scope's (sorted) order, then lower sample index.
- rejected: among rewards strictly below the chosen one, the reward nearest to the target
  (mean - 2*std with the population std, the first quartile, or the minimum of the pool). Ties: lower
  reward, then earlier language, then lower sample index.
- A pool that cannot form a pair is counted by reason (no scored samples, a single sample, all rewards
  equal) and reported in the dataset's stats, never silently dropped.
Non-finite rewards are excluded and counted (`reward.non_finite: exclude`) or fail the step (`error`).
With the language filter (a `+in_language` dataset, `pairs.language_filter`), a sample whose requested
language has a probability below `min_probability` in the language-ID table is excluded before pools are
formed, and counted (`excluded_samples.off_language`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.names import ICR, MAPO, PROMPT_LANGUAGES, parse_dataset, parse_target, scope_languages
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_parquet_columns, require_columns, require_language, require_parquet_columns


@dataclass(frozen=True)
class DatasetSpec(Spec):
    scope: str  # mono-<lang> | multi-<lang>+<lang>...
    dataset: str  # dpo-<target>-<prompt language> | maxr | sft
    non_finite: str  # exclude | error
    seed: int  # the random prompt language's
    min_language_probability: float | None  # the language filter's threshold (None: no filter)
    software: dict  # versions of the packages that compute it
    code: str


@dataclass
class Selection:
    """Per pool (group): index of the chosen and rejected sample (-1: none) and pool statistics."""

    group: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    pool_size: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    target_value: np.ndarray


def _group_starts(sorted_groups: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.flatnonzero(np.diff(sorted_groups)) + 1]) if len(sorted_groups) else np.array([], int)


def select(group: np.ndarray, lang: np.ndarray, sample: np.ndarray, reward: np.ndarray, target: str) -> Selection:
    """Choose (chosen, rejected) per group. All rewards must be finite."""
    kind, level = parse_target(target)
    group, lang, sample = np.asarray(group), np.asarray(lang), np.asarray(sample)
    reward = np.asarray(reward, dtype=np.float64)
    if len(reward) == 0:
        empty = np.array([], dtype=np.int64)
        return Selection(empty, empty, empty, empty, np.array([]), np.array([]), np.array([]))
    # Chosen: group, then reward descending, then language, then sample.
    by_best = np.lexsort((sample, lang, -reward, group))
    starts = _group_starts(group[by_best])
    groups = group[by_best][starts]
    chosen = by_best[starts]
    sizes = np.diff(np.append(starts, len(by_best)))
    # Pool statistics (population std), in float64.
    sums = np.add.reduceat(reward[by_best], starts)
    mean = sums / sizes
    dev = reward[by_best] - np.repeat(mean, sizes)
    std = np.sqrt(np.add.reduceat(dev * dev, starts) / sizes)
    if kind == "sigma":
        target_value = mean - level * std
    else:  # the pool's `level`-quantile with linear interpolation (numpy's default method); min at 0
        ascending = np.lexsort((reward, group))
        low = reward[ascending]
        pos = level * (sizes - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        a, b, t = low[starts + lo], low[starts + hi], pos - lo
        # numpy's own lerp, to the last bit: a nearest-to-quantile tie must break as np.quantile's value says
        target_value = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
    # Rejected: strictly below the chosen reward, nearest to the target.
    slot = np.searchsorted(groups, group)  # position of each row's group in `groups`
    candidate = reward < reward[chosen][slot]
    rejected = np.full(len(groups), -1, dtype=np.int64)
    idx = np.flatnonzero(candidate)
    if len(idx):
        distance = np.abs(reward[idx] - target_value[slot[idx]])
        order = idx[np.lexsort((sample[idx], lang[idx], reward[idx], distance, group[idx]))]
        cand_starts = _group_starts(group[order])
        rejected[np.searchsorted(groups, group[order][cand_starts])] = order[cand_starts]
    return Selection(groups, chosen, rejected, sizes, mean, std, target_value)


# ---------------------------------------------------------------- reading scores


@dataclass
class Pools:
    """The scored samples of a scope as compact columns: prompt code (into `prompt_ids`), language code
    (into the scope's languages), sample index and reward; about 17 bytes per sample."""

    group: np.ndarray
    lang: np.ndarray
    sample: np.ndarray
    reward: np.ndarray
    prompt_ids: pa.Array
    counts: dict


SCORE_COLUMNS = {"prompt_id": "string", "language": "string", "sample_index": "integer", "reward": "float", "status": "string"}
ROWS_PER_BATCH = 1 << 20


def read_pools(
    paths: dict[str, str], languages: list[str], non_finite: str, language_filter: LanguageFilter | None = None
) -> Pools:
    """Stream the scope's score files batch by batch, keeping the finite scored rewards as integer-coded
    columns (no strings): memory stays near 17 bytes per kept sample at paper scale (9M samples). With a
    language filter, the samples identified as off their requested language are dropped and counted."""
    for lang in languages:
        require_parquet_columns(paths[lang], SCORE_COLUMNS)
    # Prompt codes: the union of the languages' prompt ids, in first-seen order.
    dictionary = pa.chunked_array(
        [pc.unique(pq.read_table(paths[lang], columns=["prompt_id"]).column("prompt_id")) for lang in languages]
    ).combine_chunks()
    dictionary = pc.unique(dictionary)
    parts: dict[str, list] = {"group": [], "lang": [], "sample": [], "reward": []}
    counts = {"samples": 0, "skipped": 0, "non_finite": 0}
    if language_filter is not None:
        counts["off_language"] = 0
    for code, lang in enumerate(languages):
        path = paths[lang]
        for batch in pq.ParquetFile(path).iter_batches(batch_size=ROWS_PER_BATCH, columns=list(SCORE_COLUMNS)):
            require_language(batch.column("language"), lang, path)
            scored = pc.equal(batch.column("status"), "scored")
            finite = pc.is_finite(batch.column("reward").cast(pa.float64()).fill_null(np.nan))
            bad = pc.and_(scored, pc.invert(finite))
            n_bad = pc.sum(bad.cast(pa.int64())).as_py() or 0
            if n_bad and non_finite == "error":
                first = pa.Table.from_batches([batch]).filter(bad).slice(0, 1).to_pylist()[0]
                raise UserError(
                    f"{n_bad} non-finite reward(s), e.g. prompt {first['prompt_id']} sample {first['sample_index']} "
                    "(set reward.non_finite: exclude to drop and count them)",
                    file=str(path),
                    field="reward",
                )
            counts["samples"] += batch.num_rows
            counts["skipped"] += pc.sum(pc.invert(scored).cast(pa.int64())).as_py() or 0
            counts["non_finite"] += n_bad
            keep = pc.and_(scored, finite)
            kept = pa.Table.from_batches([batch]).filter(keep)
            parts["group"].append(
                pc.index_in(kept.column("prompt_id"), value_set=dictionary).to_numpy(zero_copy_only=False).astype(np.int32)
            )
            parts["lang"].append(np.full(kept.num_rows, code, dtype=np.int8))
            parts["sample"].append(kept.column("sample_index").to_numpy().astype(np.int32))
            parts["reward"].append(kept.column("reward").to_numpy().astype(np.float64))
    joined = {
        k: (np.concatenate(v) if v else np.array([], dtype=np.float64 if k == "reward" else np.int32)) for k, v in parts.items()
    }
    # one reward per sample: a duplicated row would weigh twice in its pool
    key = _sample_keys(joined["group"], joined["lang"], joined["sample"], len(languages))
    unique, repeats = np.unique(key, return_counts=True)
    if (repeats > 1).any():
        group, code, sample = _decode_key(unique[np.argmax(repeats > 1)], len(languages))
        lang, pid = languages[code], dictionary[group].as_py()
        raise UserError(
            f"{int((repeats > 1).sum())} sample(s) are scored more than once, e.g. prompt {pid} sample {sample}",
            file=str(paths[lang]),
            field="prompt_id, sample_index",
        )
    if language_filter is not None:
        keep = language_filter.keep(key, dictionary, languages)
        counts["off_language"] = int((~keep).sum())
        joined = {k: v[keep] for k, v in joined.items()}
    return Pools(joined["group"], joined["lang"], joined["sample"], joined["reward"], dictionary, counts)


def _sample_keys(group: np.ndarray, lang: np.ndarray, sample: np.ndarray, n_languages: int) -> np.ndarray:
    """One int64 per sample of a scope: (prompt code, language code, sample index)."""
    return (group.astype(np.int64) * n_languages + lang) * (1 << 31) + sample


def _decode_key(key, n_languages: int) -> tuple[int, int, int]:
    """(prompt code, language code, sample index) of one _sample_keys value."""
    key = int(key)
    return key // (1 << 31) // n_languages, key // (1 << 31) % n_languages, key % (1 << 31)


LANGUAGE_ID_COLUMNS = {"prompt_id": "string", "language": "string", "sample_index": "integer", "requested_probability": "float"}


@dataclass(frozen=True)
class LanguageFilter:
    """The language-ID tables of a scope's languages and the least probability of the requested language a
    kept sample has."""

    paths: dict[str, str]
    min_probability: float

    def keep(self, keys: np.ndarray, dictionary: pa.Array, languages: list[str]) -> np.ndarray:
        """Which of the scored samples `keys` (_sample_keys) are kept; every one must be in the tables."""
        known, dropped = [], []
        for code, lang in enumerate(languages):
            path = self.paths[lang]
            require_parquet_columns(path, LANGUAGE_ID_COLUMNS)
            for batch in pq.ParquetFile(path).iter_batches(batch_size=ROWS_PER_BATCH, columns=list(LANGUAGE_ID_COLUMNS)):
                require_language(batch.column("language"), lang, path)
                group = pc.index_in(batch.column("prompt_id"), value_set=dictionary)
                listed = pc.is_valid(group)  # rows of prompts the scores do not have are not needed
                group = group.filter(listed).to_numpy(zero_copy_only=False).astype(np.int32)
                sample = batch.column("sample_index").filter(listed).to_numpy().astype(np.int32)
                row_keys = _sample_keys(group, np.full(len(group), code, dtype=np.int8), sample, len(languages))
                # null (an empty response) is not evidence of another language: kept
                probability = batch.column("requested_probability").filter(listed).cast(pa.float64())
                off = pc.fill_null(pc.less(probability, self.min_probability), False).to_numpy(zero_copy_only=False)
                known.append(row_keys)
                dropped.append(row_keys[off])
        known_keys = np.concatenate(known) if known else np.array([], np.int64)
        missing = ~np.isin(keys, known_keys)
        if missing.any():
            group, code, sample = _decode_key(keys[np.argmax(missing)], len(languages))
            lang, pid = languages[code], dictionary[group].as_py()
            raise UserError(
                f"{int(missing.sum())} scored sample(s) have no identified language, e.g. prompt {pid} sample "
                f"{sample} (the table is older than the scores: rebuild it)",
                file=str(self.paths[lang]),
                field="prompt_id, sample_index",
            )
        return ~np.isin(keys, np.concatenate(dropped) if dropped else np.array([], np.int64))


# ---------------------------------------------------------------- fetching texts


def fetch_texts(generation_paths: dict[str, str], wanted: dict[str, set], prompt_wanted: dict[str, set]) -> tuple[dict, dict]:
    """Stream the generation files; return responses for wanted (prompt_id, sample) per language and
    prompt texts for wanted prompt ids per language."""
    responses, prompts = {}, {}
    for lang, path in generation_paths.items():
        want, want_prompt = wanted.get(lang, set()), prompt_wanted.get(lang, set())
        if not want and not want_prompt:
            continue
        parquet = pq.ParquetFile(path)
        require_columns(
            parquet.schema_arrow.empty_table(),
            path,
            {"prompt_id": "string", "sample_index": "integer", "prompt": "string", "response": "string"},
        )
        want_keys = pa.array([f"{p}\x1f{s}" for p, s in want], pa.string())
        want_ids = pa.array(sorted(want_prompt), pa.string())
        for i in range(parquet.num_row_groups):
            keys = parquet.read_row_group(i, columns=["prompt_id", "sample_index"])
            key = pc.binary_join_element_wise(keys.column("prompt_id"), keys.column("sample_index").cast(pa.string()), "\x1f")
            hit = pc.is_in(key, value_set=want_keys)
            phit = pc.is_in(keys.column("prompt_id"), value_set=want_ids)
            if not (pc.any(hit).as_py() or pc.any(phit).as_py()):
                continue
            # Texts are read only for row groups holding a selected sample; the keys are already in hand.
            texts = parquet.read_row_group(i, columns=["prompt", "response"])
            group = keys.append_column("prompt", texts.column("prompt")).append_column("response", texts.column("response"))
            for row in group.filter(hit).to_pylist():
                responses[(lang, row["prompt_id"], row["sample_index"])] = row["response"]
            for row in group.filter(phit).select(["prompt_id", "prompt"]).to_pylist():
                prompts.setdefault((lang, row["prompt_id"]), row["prompt"])
        missing = sorted((pid, sample) for pid, sample in want if (lang, pid, sample) not in responses)
        if missing:
            raise UserError(
                f"{len(missing)} scored sample(s) are not in the generations, e.g. prompt {missing[0][0]} sample "
                f"{missing[0][1]}: the scores are not of these generations (rebuild them)",
                file=str(path),
                field="prompt_id, sample_index",
            )
    return responses, prompts


def within_language_pairs(rows: list[tuple], generation_paths: dict[str, str]) -> pa.Table:
    """A DPO table from pairs chosen within one language each (the ICR and MAPO baselines): `rows` of (language,
    prompt id, chosen sample, rejected sample, chosen score, rejected score); the texts are read from the
    generations, the prompt in the pair's language."""
    wanted, prompt_wanted = {}, {}
    for lang, pid, chosen, rejected, _, _ in rows:
        wanted.setdefault(lang, set()).update({(pid, chosen), (pid, rejected)})
        prompt_wanted.setdefault(lang, set()).add(pid)
    responses, prompts = fetch_texts(generation_paths, wanted, prompt_wanted)
    return pa.table(
        {
            "prompt_id": pa.array([r[1] for r in rows], pa.string()),
            "prompt_language": pa.array([r[0] for r in rows], pa.string()),
            "prompt": pa.array([prompts[(r[0], r[1])] for r in rows], pa.string()),
            "chosen": pa.array([responses[(r[0], r[1], r[2])] for r in rows], pa.string()),
            "rejected": pa.array([responses[(r[0], r[1], r[3])] for r in rows], pa.string()),
            "chosen_reward": pa.array([r[4] for r in rows], pa.float64()),
            "rejected_reward": pa.array([r[5] for r in rows], pa.float64()),
            "chosen_language": pa.array([r[0] for r in rows], pa.string()),
            "rejected_language": pa.array([r[0] for r in rows], pa.string()),
            "chosen_sample": pa.array([r[2] for r in rows], pa.int32()),
            "rejected_sample": pa.array([r[3] for r in rows], pa.int32()),
        }
    )


def random_language(seed: int, prompt_id: str, languages: list[str]) -> str:
    h = hashlib.sha256(f"{seed}\0{prompt_id}".encode()).digest()
    return languages[int.from_bytes(h[:8], "little") % len(languages)]


# ---------------------------------------------------------------- datasets


def _summary(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"min": None, "mean": None, "max": None}
    return {"min": float(np.min(values)), "mean": float(np.mean(values)), "max": float(np.max(values))}


# The length penalty's grid (length_control), in units of the language's reward spread per token of length
# spread (std(reward) / std(length)): scale-free, so one grid serves a classifier's and a rubric's rewards; ICR's
# own grid, 0 to 1 in steps of 0.001, is absolute on its implicit rewards and characters.
LENGTH_PENALTY_GRID = np.round(np.arange(0.0, 2.0001, 0.02), 2)


def pool_lengths(generation_paths: dict[str, str], languages: list[str], pools: Pools) -> np.ndarray:
    """The response length (tokens) of every pooled sample, aligned with the pools' rows."""
    key = _sample_keys(pools.group, pools.lang, pools.sample, len(languages))
    found_keys, found_lengths = [], []
    for code, lang in enumerate(languages):
        path = generation_paths[lang]
        require_parquet_columns(path, {"prompt_id": "string", "sample_index": "integer", "response_tokens": "integer"})
        for batch in pq.ParquetFile(path).iter_batches(
            batch_size=ROWS_PER_BATCH, columns=["prompt_id", "sample_index", "response_tokens"]
        ):
            found = pc.index_in(batch.column("prompt_id"), value_set=pools.prompt_ids)
            group = pc.fill_null(found, -1).to_numpy().astype(np.int64)  # -1: a prompt no pool holds
            sample = batch.column("sample_index").to_numpy().astype(np.int64)
            keep = group >= 0
            found_keys.append(_sample_keys(group[keep], np.full(keep.sum(), code), sample[keep], len(languages)))
            found_lengths.append(batch.column("response_tokens").to_numpy(zero_copy_only=False)[keep].astype(np.float64))
    keys = np.concatenate(found_keys) if found_keys else np.array([], np.int64)
    lengths = np.concatenate(found_lengths) if found_lengths else np.array([])
    order = np.argsort(keys)
    at = np.searchsorted(keys[order], key)
    hit = (at < len(keys)) & (keys[order][np.minimum(at, len(keys) - 1)] == key) if len(keys) else np.zeros(len(key), bool)
    if not hit.all():
        g, c, i = _decode_key(key[np.argmin(hit)], len(languages))
        raise UserError(
            f"{int((~hit).sum())} scored sample(s) are not in the generations, e.g. prompt "
            f"{pools.prompt_ids[g].as_py()} sample {i}: the scores are not of these generations (rebuild them)",
            file=str(generation_paths[languages[c]]),
        )
    return lengths[order][at]


def length_gap(selection: Selection, length: np.ndarray) -> float:
    paired = selection.rejected >= 0
    if not paired.any():
        return 0.0
    return float(np.mean(length[selection.chosen[paired]] - length[selection.rejected[paired]]))


def fit_length_penalty(group, lang, sample, reward, length, target: str) -> tuple[float, dict]:
    """One language's α: the first of the grid (scaled by the reward and length spreads) whose selection has
    the smallest absolute mean chosen − rejected length gap; with the gaps before and after."""
    scale = float(np.std(reward) / np.std(length)) if len(length) and np.std(length) > 0 else 0.0
    before = length_gap(select(group, lang, sample, reward, target), length)
    best, best_gap = 0.0, before
    for step in LENGTH_PENALTY_GRID[1:] if scale else []:
        gap = length_gap(select(group, lang, sample, reward - step * scale * length, target), length)
        if abs(gap) < abs(best_gap):
            best, best_gap = float(step * scale), gap
    return best, {"alpha": best, "length_gap_before": before, "length_gap_after": best_gap}


def length_penalized(pools: Pools, lengths: np.ndarray, languages: list[str], target: str) -> tuple[np.ndarray, dict]:
    """The pools' rewards minus each language's α·length, and per language α and its length gaps."""
    adjusted = pools.reward.copy()
    fits = {}
    for code, lang in enumerate(languages):
        rows = pools.lang == code
        alpha, fits[lang] = fit_length_penalty(
            pools.group[rows], pools.lang[rows], pools.sample[rows], pools.reward[rows], lengths[rows], target
        )
        adjusted[rows] = pools.reward[rows] - alpha * lengths[rows]
    return adjusted, fits


def build_dpo(
    score_paths,
    generation_paths,
    languages,
    target,
    prompt_language,
    non_finite,
    seed,
    language_filter=None,
    length_control=False,
):
    """Paired DPO pairs; with `length_control`, selected on reward − α·length per language (the table keeps the
    reward model's rewards; the pool statistics and target are of the penalized ones)."""
    if prompt_language not in PROMPT_LANGUAGES:
        raise UserError(f"unknown prompt language variant '{prompt_language}'", field="prompt_languages")
    pools = read_pools(score_paths, languages, non_finite, language_filter)
    group, lang, sample, reward = pools.group, pools.lang, pools.sample, pools.reward
    fits = None
    if length_control:
        ranked, fits = length_penalized(pools, pool_lengths(generation_paths, languages, pools), languages, target)
    else:
        ranked = reward
    sel = select(group, lang, sample, ranked, target)
    paired = sel.rejected >= 0
    ids = pools.prompt_ids.to_pylist()
    c, r = sel.chosen[paired], sel.rejected[paired]
    pids = [ids[g] for g in sel.group[paired]]
    c_lang = [languages[x] for x in lang[c]]
    r_lang = [languages[x] for x in lang[r]]
    if prompt_language == "chosen":
        p_lang = c_lang
    elif prompt_language == "rejected":
        p_lang = r_lang
    else:
        p_lang = [random_language(seed, pid, languages) for pid in pids]
    wanted, prompt_wanted = {}, {}
    for pid, cl, rl, cs, rs, pl in zip(pids, c_lang, r_lang, sample[c], sample[r], p_lang):
        wanted.setdefault(cl, set()).add((pid, int(cs)))
        wanted.setdefault(rl, set()).add((pid, int(rs)))
        prompt_wanted.setdefault(pl, set()).add(pid)
    responses, prompts = fetch_texts(generation_paths, wanted, prompt_wanted)
    out = pa.table(
        {
            "prompt_id": pa.array(pids, pa.string()),
            "prompt_language": pa.array(p_lang, pa.string()),
            "prompt": pa.array([prompts[(pl, pid)] for pl, pid in zip(p_lang, pids)], pa.string()),
            "chosen": pa.array([responses[(cl, pid, int(s))] for cl, pid, s in zip(c_lang, pids, sample[c])], pa.string()),
            "rejected": pa.array([responses[(rl, pid, int(s))] for rl, pid, s in zip(r_lang, pids, sample[r])], pa.string()),
            "chosen_reward": pa.array(reward[c], pa.float64()),
            "rejected_reward": pa.array(reward[r], pa.float64()),
            "chosen_language": pa.array(c_lang, pa.string()),
            "rejected_language": pa.array(r_lang, pa.string()),
            "chosen_sample": pa.array(sample[c], pa.int32()),
            "rejected_sample": pa.array(sample[r], pa.int32()),
            "pool_size": pa.array(sel.pool_size[paired], pa.int32()),
            "pool_mean": pa.array(sel.mean[paired], pa.float64()),
            "pool_std": pa.array(sel.std[paired], pa.float64()),
            "target": pa.array([target] * len(pids), pa.string()),
            "target_value": pa.array(sel.target_value[paired], pa.float64()),
        }
    )
    unpaired = ~paired
    n_prompts = len(pools.prompt_ids)
    matrix: dict = {}
    for cl, rl in zip(c_lang, r_lang):
        matrix.setdefault(cl, {}).setdefault(rl, 0)
        matrix[cl][rl] += 1
    stats = {
        "method": "dpo",
        "target": target,
        "prompt_language": prompt_language,
        "languages": languages,
        "prompts": n_prompts,
        "pairs": int(paired.sum()),
        "unpairable": {
            "no_scored_samples": n_prompts - len(sel.group),
            "single_sample": int((unpaired & (sel.pool_size == 1)).sum()),
            "all_rewards_equal": int((unpaired & (sel.pool_size > 1)).sum()),
        },
        "excluded_samples": pools.counts,
        "language_filter": None if language_filter is None else {"min_probability": language_filter.min_probability},
        "pool_size": _summary(sel.pool_size),
        "reward_gap": _summary(reward[c] - reward[r]),
        "language_matrix": matrix,
        "length_control": fits,
    }
    return out, stats


def build_maxr(score_paths, generation_paths, languages, non_finite, language_filter=None):
    pools = read_pools(score_paths, languages, non_finite, language_filter)
    group, lang, sample, reward = pools.group, pools.lang, pools.sample, pools.reward
    sel = select(group, lang, sample, reward, "min")
    ids = pools.prompt_ids.to_pylist()
    c = sel.chosen
    pids = [ids[g] for g in sel.group]
    c_lang = [languages[x] for x in lang[c]]
    wanted, prompt_wanted = {}, {}
    for pid, cl, cs in zip(pids, c_lang, sample[c]):
        wanted.setdefault(cl, set()).add((pid, int(cs)))
        prompt_wanted.setdefault(cl, set()).add(pid)
    responses, prompts = fetch_texts(generation_paths, wanted, prompt_wanted)
    out = pa.table(
        {
            "prompt_id": pa.array(pids, pa.string()),
            "language": pa.array(c_lang, pa.string()),
            "prompt": pa.array([prompts[(cl, pid)] for cl, pid in zip(c_lang, pids)], pa.string()),
            "completion": pa.array([responses[(cl, pid, int(s))] for cl, pid, s in zip(c_lang, pids, sample[c])], pa.string()),
            "reward": pa.array(reward[c], pa.float64()),
            "sample_index": pa.array(sample[c], pa.int32()),
            "pool_size": pa.array(sel.pool_size, pa.int32()),
        }
    )
    n_prompts = len(pools.prompt_ids)
    languages_count: dict = {}
    for cl in c_lang:
        languages_count[cl] = languages_count.get(cl, 0) + 1
    stats = {
        "method": "maxr",
        "languages": languages,
        "prompts": n_prompts,
        "examples": out.num_rows,
        "unpairable": {"no_scored_samples": n_prompts - len(sel.group)},
        "excluded_samples": pools.counts,
        "language_filter": None if language_filter is None else {"min_probability": language_filter.min_probability},
        "pool_size": _summary(sel.pool_size),
        "chosen_languages": languages_count,
    }
    return out, stats


def build_translated_sft(prompt_paths: dict[str, str], languages: list[str]):
    tables = []
    for lang in languages:
        tables.append(
            read_parquet_columns(
                prompt_paths[lang], {"prompt_id": "string", "language": "string", "prompt": "string", "reference": "string"}
            )
        )
    t = pa.concat_tables(tables)
    out = pa.table(
        {
            "prompt_id": t.column("prompt_id"),
            "language": t.column("language"),
            "prompt": t.column("prompt"),
            "completion": t.column("reference"),
        }
    )
    counts = {lang: tables[i].num_rows for i, lang in enumerate(languages)}
    return out, {"method": "sft", "languages": languages, "examples": out.num_rows, "per_language": counts}


def dataset_step(snakemake) -> None:
    from workflow_scripts.runtime.atomic import write_json, write_parquet

    spec = DatasetSpec.load(snakemake.params.spec)
    languages = scope_languages(spec.scope)
    parsed = parse_dataset(spec.dataset)
    if parsed["method"] == "sft":
        table, stats = build_translated_sft(dict(zip(languages, snakemake.input.prompts)), languages)
    else:
        scores = dict(zip(languages, snakemake.input.scores))
        generations = dict(zip(languages, snakemake.input.generations))
        language_filter = None
        if spec.min_language_probability is not None:
            language_filter = LanguageFilter(dict(zip(languages, snakemake.input.language_id)), spec.min_language_probability)
        if parsed.get("pairs") == ICR:
            from workflow_scripts.stages.icr import build_icr

            table, stats = build_icr(scores, generations, languages)
        elif parsed.get("pairs") == MAPO:
            from workflow_scripts.stages.mapo import build_mapo

            table, stats = build_mapo(scores, generations, languages)
        elif parsed["method"] == "maxr":
            table, stats = build_maxr(scores, generations, languages, spec.non_finite, language_filter)
        else:
            table, stats = build_dpo(
                scores,
                generations,
                languages,
                parsed["target"],
                parsed["prompt_language"],
                spec.non_finite,
                spec.seed,
                language_filter,
                parsed.get("length_control", False),
            )
    stats["scope"] = spec.scope
    stats["dataset"] = spec.dataset
    write_parquet(table, snakemake.output.data)
    write_json(stats, snakemake.output.stats)
    unp = stats.get("unpairable", {})
    excluded = stats.get("excluded_samples", {})
    print(
        f"[croco] {spec.dataset} for {spec.scope}: {table.num_rows} rows; unpairable prompts: {unp}; excluded samples: {excluded}"
    )
