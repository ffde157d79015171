"""Paper-scale benchmark of the CPU-side data path: time and peak memory of every step that reads the big tables.

    .venv/bin/python benchmarks/data_path.py                       # the paper: 7 languages x 20K prompts x 64 samples
    .venv/bin/python benchmarks/data_path.py --prompts 2000        # a smaller run

It writes deterministic synthetic generations and scores (responses of realistic length: a log-normal number
of words around 300, about 1,900 characters) into --dir, once (reused while the parameters are the same), then
runs each step in a fresh process and reports its wall time and peak resident memory:
- gathering 8 generation shards and 8 score shards of one language (with the key checks);
- pair construction for every method and regime: DPO (mean-2sigma, q1, min) and Max-R, monolingual for each
  language and multilingual over all of them (prompt in the chosen response's language, and random);
- the report's reward-distribution figure over every score file;
- language identification of every sample (fastText lid.176, two worker processes, as `threads.language_id: 2`).

The responses are word salad drawn from real sentences of their own language (tests/data/language_id/), so
that the language identifier sees each language's words; the other steps do not look at the text.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workflow_scripts.stages.generation import GENERATION_SCHEMA, sample_seed  # noqa: E402
from workflow_scripts.stages.scoring import SCORE_SCHEMA  # noqa: E402

LANGUAGES = ["en", "da", "nl", "fr", "de", "it", "es"]
SENTENCES = REPO / "tests/data/language_id/texts.jsonl"
PROMPTS_PER_ROW_GROUP = 256  # as the generation step writes them (generation.prompts_per_chunk)
WORDS = np.array(
    "the of and to in is that for it as with was on be by this are from at or an have not which but "
    "model answer language response question data first time would there their what about when can "
    "more other some into only also than then these because most over such after through where much "
    "Danish German French Italian Spanish Dutch English translation example result between however".split()
)


def language_words(lang: str) -> np.ndarray:
    """The words of the test sentences in `lang` (English filler words for a language without one)."""
    for line in SENTENCES.read_text().splitlines():
        row = json.loads(line)
        if row["language"] == lang:
            return np.array(row["text"].replace(",", "").replace(".", "").split())
    return WORDS


def text_buffer(rng: np.random.Generator, chars: int, lang: str = "en") -> bytes:
    words = language_words(lang)
    words = words[rng.integers(0, len(words), chars // 5)]
    # whole characters only: a cut inside a multi-byte one would make the slices invalid UTF-8
    return (" ".join(words)).encode()[:chars].decode("utf-8", "ignore").encode()


def strings_from(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A string array of buffer[start:start+length] slices, built without Python strings; each slice's ends are
    moved to the next character boundary, so that no multi-byte UTF-8 character is cut."""
    boundaries = np.append(np.flatnonzero((buffer & 0xC0) != 0x80), len(buffer))
    ends = boundaries[np.searchsorted(boundaries, np.minimum(starts + lengths, len(buffer)))]
    starts = boundaries[np.searchsorted(boundaries, starts)]
    lengths = np.maximum(ends - starts, 0)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
    data = buffer[index]
    return pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data.tobytes())).cast(pa.string())


def write_language(directory: Path, lang: str, prompts: int, samples: int, mean_words: int, seed: int) -> None:
    rng = np.random.default_rng([seed, LANGUAGES.index(lang) if lang in LANGUAGES else 99])
    buffer = np.frombuffer(text_buffer(rng, 8 << 20, lang), dtype=np.uint8)
    gen_path, score_path = directory / f"generations/{lang}.parquet", directory / f"scores/{lang}.parquet"
    gen_path.parent.mkdir(parents=True, exist_ok=True)
    score_path.parent.mkdir(parents=True, exist_ok=True)
    prompt_ids = np.array([f"p{i:06d}" for i in range(prompts)], dtype=object)
    prompt_len = rng.integers(80, 600, prompts)
    prompt_start = rng.integers(0, len(buffer) - 700, prompts)
    with pq.ParquetWriter(gen_path, GENERATION_SCHEMA) as gen_writer, pq.ParquetWriter(score_path, SCORE_SCHEMA) as score_writer:
        for lo in range(0, prompts, PROMPTS_PER_ROW_GROUP):
            hi = min(prompts, lo + PROMPTS_PER_ROW_GROUP)
            n = (hi - lo) * samples
            rows = np.repeat(np.arange(lo, hi), samples)
            sample = np.tile(np.arange(samples, dtype=np.int32), hi - lo)
            words = np.clip(rng.lognormal(np.log(mean_words), 0.6, n), 3, 6000).astype(np.int64)
            lengths = np.minimum(words * 6, len(buffer) - 1)
            starts = rng.integers(0, len(buffer) - lengths)
            ids = pa.array(prompt_ids[rows], pa.string())
            gen_writer.write_table(
                pa.table(
                    {
                        "prompt_id": ids,
                        "language": pa.array(np.full(n, lang, dtype=object), pa.string()),
                        "sample_index": pa.array(sample),
                        "prompt": strings_from(buffer, prompt_start[rows], prompt_len[rows]),
                        "response": strings_from(buffer, starts, lengths),
                        "prompt_tokens": pa.array((prompt_len[rows] // 4).astype(np.int32)),
                        "response_tokens": pa.array((lengths // 4).astype(np.int32)),
                        "finish_reason": pa.array(np.full(n, "stop", dtype=object), pa.string()),
                        "generator": pa.array(np.full(n, "bench", dtype=object), pa.string()),
                        "generator_identity": pa.array(np.full(n, "bench", dtype=object), pa.string()),
                        "temperature": pa.array(np.full(n, 0.7)),
                        "top_p": pa.array(np.full(n, 1.0)),
                        "max_tokens": pa.array(np.full(n, 2048, dtype=np.int32)),
                        "seed": pa.array([sample_seed(seed, "", lang, 0)] * n, pa.int64()),
                    },
                    schema=GENERATION_SCHEMA,
                )
            )
            # Rewards: a per-prompt level plus noise, coarsely rounded so ties occur; a few skipped and NaN.
            reward = np.round(np.repeat(rng.normal(0, 2, hi - lo), samples) + rng.normal(0, 1, n), 2)
            status = np.where(rng.random(n) < 0.002, "skipped", "scored").astype(object)
            reward[status == "skipped"] = np.nan
            reward[rng.random(n) < 0.0005] = np.nan
            score_writer.write_table(
                pa.table(
                    {
                        "prompt_id": ids,
                        "language": pa.array(np.full(n, lang, dtype=object), pa.string()),
                        "sample_index": pa.array(sample),
                        "reward": pa.array(np.where(status == "skipped", None, reward), pa.float64(), from_pandas=True),
                        "status": pa.array(status, pa.string()),
                        "skip_reason": pa.array(
                            np.where(status == "skipped", "too long for the reward model", None), pa.string()
                        ),
                        "reward_tokens": pa.array((lengths // 4).astype(np.int32)),
                        "reward_model": pa.array(np.full(n, "bench", dtype=object), pa.string()),
                        "reward_backend": pa.array(np.full(n, "sequence_classifier", dtype=object), pa.string()),
                    },
                    schema=SCORE_SCHEMA,
                )
            )


def make_data(directory: Path, languages: list[str], prompts: int, samples: int, mean_words: int, seed: int) -> None:
    manifest = {
        "languages": languages,
        "prompts": prompts,
        "samples": samples,
        "mean_words": mean_words,
        "seed": seed,
        "format": 2,  # 2: each language's own words
    }
    stamp = directory / "manifest.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == manifest:
        return
    started = time.time()
    for lang in languages:
        write_language(directory, lang, prompts, samples, mean_words, seed)
        print(f"  wrote {lang}: {prompts} prompts x {samples} samples ({time.time() - started:.0f} s)", flush=True)
    prompts_table = pa.table({"prompt_id": [f"p{i:06d}" for i in range(prompts)]})
    pq.write_table(prompts_table, directory / "prompts.parquet")
    split_shards(directory, languages[0], 8)
    stamp.write_text(json.dumps(manifest))


def split_shards(directory: Path, lang: str, shards: int) -> None:
    """Cut one language's tables into the shard files the gather steps read."""
    from workflow_scripts.runtime.scatter import shard_bounds

    for kind in ("generations", "scores"):
        source = pq.ParquetFile(directory / f"{kind}/{lang}.parquet")
        total, starts, offset = source.metadata.num_rows, [], 0
        for i in range(source.metadata.num_row_groups):
            starts.append(offset)
            offset += source.metadata.row_group(i).num_rows
        for k in range(shards):
            lo, hi = shard_bounds(total, k, shards)
            path = directory / f"shards/{kind}/{lang}/shard-{k}-of-{shards}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(path, source.schema_arrow) as writer:
                for i, start in enumerate(starts):
                    stop = starts[i + 1] if i + 1 < len(starts) else total
                    if stop <= lo or start >= hi:
                        continue
                    group = source.read_row_group(i)
                    writer.write_table(group.slice(max(lo, start) - start, min(hi, stop) - max(lo, start)))


# ---------------------------------------------------------------- the measured steps (run in their own process)


def step_gather(directory: Path, languages, samples) -> str:
    from workflow_scripts.runtime.scatter import gather
    from workflow_scripts.stages.generation import GENERATION_SCHEMA, expected_generation_keys
    from workflow_scripts.stages.scoring import expected_score_keys

    lang = languages[0]
    shards = sorted((directory / f"shards/generations/{lang}").glob("shard-*.parquet"), key=lambda p: int(p.name.split("-")[1]))
    out = directory / "out/gathered-generations.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = gather(
        [str(p) for p in shards],
        out,
        GENERATION_SCHEMA,
        expected_generation_keys(directory / "prompts.parquet", lang, samples),
        "samples",
    )
    score_shards = sorted((directory / f"shards/scores/{lang}").glob("shard-*.parquet"), key=lambda p: int(p.name.split("-")[1]))
    gather(
        [str(p) for p in score_shards],
        directory / "out/gathered-scores.parquet",
        SCORE_SCHEMA,
        expected_score_keys(out),
        "samples",
    )
    return f"{rows} samples of {lang} from 8 generation and 8 score shards"


def paths(directory: Path, kind: str, languages) -> dict[str, str]:
    return {lang: str(directory / f"{kind}/{lang}.parquet") for lang in languages}


def step_pairs(
    directory: Path, languages, method: str, regime: str, target: str = "mean_minus_2sigma", prompt_language: str = "chosen"
) -> str:
    from workflow_scripts.runtime.atomic import write_parquet
    from workflow_scripts.stages.pairs import build_dpo, build_maxr

    scopes = [[lang] for lang in languages] if regime == "mono" else [sorted(languages)]
    made = 0
    for scope in scopes:
        scores, generations = paths(directory, "scores", scope), paths(directory, "generations", scope)
        if method == "maxr":
            table, _ = build_maxr(scores, generations, scope, "exclude")
        else:
            table, _ = build_dpo(scores, generations, scope, target, prompt_language, "exclude", 1234)
        write_parquet(table, directory / f"out/{method}-{regime}-{target}-{prompt_language}-{'+'.join(scope)}.parquet")
        made += table.num_rows
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths(directory, "scores", languages).values())
    return f"{made} rows from {rows} scored samples ({len(scopes)} dataset(s))"


def step_language_id(directory: Path, languages) -> str:
    import yaml

    from workflow_scripts.stages.language_id import identify_file

    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    max_characters = schema["properties"]["language_id"]["properties"]["max_characters"]["default"]
    samples = as_requested = 0
    for lang in languages:
        out = directory / f"out/language_id/{lang}.parquet"
        done = identify_file(str(directory / f"generations/{lang}.parquet"), out, lang, max_characters, workers=2)
        samples += done["samples"]
        as_requested += done["identified"].get(lang, 0)
    share = 100 * as_requested / max(samples, 1)
    return f"{samples} samples of {len(languages)} languages (≤ {max_characters} characters each), {share:.1f}% as requested"


def step_report(directory: Path, languages) -> str:
    from workflow_scripts.stages.report.data import reward_plot

    reward_plot(list(paths(directory, "scores", languages).values()), [], directory / "out/rewards.png")
    return f"reward histograms over {len(languages)} score files"


STEPS = {
    "gather shards (1 language)": ("gather", {}),
    "DPO mean-2sigma, monolingual (each language)": ("pairs", {"method": "dpo", "regime": "mono"}),
    "DPO mean-2sigma, multilingual (all languages)": ("pairs", {"method": "dpo", "regime": "multi"}),
    "DPO mean-2sigma, multilingual, random prompt language": (
        "pairs",
        {"method": "dpo", "regime": "multi", "prompt_language": "random"},
    ),
    "DPO q1, multilingual": ("pairs", {"method": "dpo", "regime": "multi", "target": "q1"}),
    "DPO min, multilingual": ("pairs", {"method": "dpo", "regime": "multi", "target": "min"}),
    "Max-R, monolingual (each language)": ("pairs", {"method": "maxr", "regime": "mono"}),
    "Max-R, multilingual": ("pairs", {"method": "maxr", "regime": "multi"}),
    "report: reward histograms": ("report", {}),
    "language ID of every sample (2 processes)": ("language_id", {}),
}


def run_step(directory: Path, name: str, languages, samples) -> None:
    kind, kwargs = STEPS[name]
    started = time.time()
    if kind == "gather":
        what = step_gather(directory, languages, samples)
    elif kind == "pairs":
        what = step_pairs(directory, languages, **kwargs)
    elif kind == "language_id":
        what = step_language_id(directory, languages)
    else:
        what = step_report(directory, languages)
    # VmHWM: this process's own high-water mark (ru_maxrss would also count the parent's, inherited at fork).
    status = Path("/proc/self/status").read_text()
    peak_mib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    # worker processes (language ID): each one's peak counts too
    children_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if children_mib:
        peak_mib += 2 * children_mib
        what += f" (peak: this process + 2 workers of {children_mib:.0f} MiB)"
    print(json.dumps({"seconds": time.time() - started, "peak_mib": peak_mib, "what": what}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="/tmp/croco-bench")
    parser.add_argument("--languages", type=int, default=7)
    parser.add_argument("--prompts", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--mean-words", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--only", help="run only the steps whose name contains this text")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step in this process
    args = parser.parse_args()
    directory = Path(args.dir)
    languages = LANGUAGES[: args.languages]
    if args.step:
        run_step(directory, args.step, languages, args.samples)
        return
    print(
        f"data: {len(languages)} languages x {args.prompts} prompts x {args.samples} samples "
        f"= {len(languages) * args.prompts * args.samples:,} scored responses in {directory}",
        flush=True,
    )
    make_data(directory, languages, args.prompts, args.samples, args.mean_words, args.seed)
    size = sum(p.stat().st_size for kind in ("generations", "scores") for p in (directory / kind).glob("*.parquet"))
    print(f"on disk: {size / 2**30:.1f} GiB of generations and scores (Parquet)\n", flush=True)
    print(f"{'step':58} {'time':>9} {'peak memory':>12}  what")
    for name in STEPS:
        if args.only and args.only not in name:
            continue
        command = [
            sys.executable,
            __file__,
            "--dir",
            str(directory),
            "--languages",
            str(args.languages),
            "--prompts",
            str(args.prompts),
            "--samples",
            str(args.samples),
            "--step",
            name,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{name:58} FAILED\n{result.stderr[-3000:]}")
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{name:58} {row['seconds']:8.1f}s {row['peak_mib']:9.0f} MiB  {row['what']}", flush=True)


if __name__ == "__main__":
    main()
