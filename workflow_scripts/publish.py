"""Publish a training dataset or an adapter to the Hugging Face Hub with its card (rules/cards.smk):

    python -m workflow_scripts.publish results/adapters/<policy>/<source>/<scope>/<dataset> --repo org/name
    python -m workflow_scripts.publish results/datasets/<source>/<scope>/<dataset>.parquet --repo org/name
    ... --dry-run   # stage the repository's files in a folder and list them; nothing is sent

An adapter goes up as its directory with the card as README.md (in place of PEFT's template card); a dataset
as data/train.parquet with its card. Without a token, or with the Hub offline or unreachable, it stops with
one line saying which."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from workflow_scripts.planning.layout import ADAPTER, ADAPTER_CARD, DATASET, DATASET_CARD


def template_match(template: str, path: str) -> dict | None:
    """The wildcards of `path` if it is an instance of `template` (each wildcard one or more path segments' text
    without a slash, but `dataset` may hold an adapter's `@settings`)."""
    pattern = re.escape(template)
    for name in re.findall(r"\{(\w+)\}", template):
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)", 1)
    found = re.fullmatch(pattern, path.rstrip("/"))
    return found.groupdict() if found else None


def artifact_and_card(path: str) -> tuple[str, Path, Path]:
    """(kind, artifact, card) of an adapter directory or a dataset file."""
    if (wildcards := template_match(ADAPTER, path)) is not None:
        return "model", Path(path), Path(ADAPTER_CARD.format(**wildcards))
    if (wildcards := template_match(DATASET, path)) is not None:
        return "dataset", Path(path), Path(DATASET_CARD.format(**wildcards))
    raise SystemExit(f"cannot publish {path}: not an adapter directory ({ADAPTER}) or a dataset ({DATASET})")


def stage(kind: str, artifact: Path, card: Path, folder: Path) -> list[str]:
    """The repository's files in `folder`: the adapter's files or the dataset as data/train.parquet, and the card."""
    if not artifact.exists():
        raise SystemExit(f"cannot publish {artifact}: it does not exist (build it first)")
    if not card.is_file():
        raise SystemExit(f"cannot publish {artifact}: its card {card} does not exist (snakemake {card})")
    if kind == "model":
        shutil.copytree(artifact, folder, dirs_exist_ok=True)
    else:
        (folder / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy2(artifact, folder / "data/train.parquet")
    shutil.copy2(card, folder / "README.md")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def hub_ready() -> str:
    """The token, once the Hub has accepted it; else one line saying what is missing."""
    from huggingface_hub import HfApi, constants, get_token

    if constants.HF_HUB_OFFLINE:
        raise SystemExit("cannot publish: HF_HUB_OFFLINE is set (unset it on a machine that reaches the Hub)")
    token = get_token()
    if not token:
        raise SystemExit("cannot publish: no Hugging Face token (set HF_TOKEN or run `hf auth login`)")
    try:
        HfApi().whoami(token=token)
    except Exception as exc:  # the Hub answers 401 for a bad token; anything else means it was not reached
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401:
            raise SystemExit("cannot publish: the Hub rejected the token (HF_TOKEN or `hf auth login`)") from None
        raise SystemExit(f"cannot publish: the Hub at {constants.ENDPOINT} is unreachable ({type(exc).__name__})") from None
    return token


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workflow_scripts.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact", help="an adapter directory or a dataset file under results/")
    parser.add_argument("--repo", required=True, help="the Hub repository, org/name")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="stage and list the files; send nothing")
    args = parser.parse_args(argv)
    kind, artifact, card = artifact_and_card(os.path.normpath(args.artifact))
    with tempfile.TemporaryDirectory(prefix="croco-publish-") as tmp:
        files = stage(kind, artifact, card, Path(tmp))
        if args.dry_run:
            print(f"would publish to {args.repo} ({kind}): " + ", ".join(files))
            return
        token = hub_ready()
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(args.repo, repo_type=kind, private=args.private, exist_ok=True)
        api.upload_folder(folder_path=tmp, repo_id=args.repo, repo_type=kind, commit_message=f"CroCo: {artifact}")
    print(f"published {artifact} to https://huggingface.co/{'datasets/' if kind == 'dataset' else ''}{args.repo}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
