"""Online DPO (Guo et al., 2024; the paper's §5.4) with TRL's OnlineDPOTrainer, for the checkpoint curves of
Appendix G: at every step the current policy samples `training.online.samples` responses per prompt, the reward
model of the offline pipeline scores them (its vLLM engine runs in this process, with the scoring code of the
score step), and the best response and the rejection target's one form the pair, by the rule of the offline
pairs (`pairs.select`).

TRL's trainer samples two responses per prompt and keeps the better as chosen. Its generation hook is extended
here: it samples k, scores them, and hands the trainer the selected pair (chosen first); the loss, the reference
(the policy with its LoRA adapter disabled, as in offline DPO), the optimizer, the schedule and the logging are
TRL's. Generation uses transformers' `generate` (TRL's vLLM generation would need a second engine for the
policy next to the reward model's, with weight syncing, which this project has not run). A prompt whose k
rewards are all equal, or all unscorable, has no pair: its chosen and rejected are the same sample, which makes
its loss term constant (no gradient), and it is counted (`online/unpairable` in the log).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import atomic_directory
from workflow_scripts.runtime.spec import Spec
from workflow_scripts.runtime.tables import read_parquet_columns
from workflow_scripts.stages.scoring import ScoreSpec
from workflow_scripts.stages.training.tracking import NO_TRACKING, Tracking, attach_run_config, finish_trackers
from workflow_scripts.stages.training.train import TrainingSpec


@dataclass(frozen=True)
class OnlineSpec(Spec):
    training: TrainingSpec  # the DPO settings, with the run's seed and training.curves.max_steps
    score: ScoreSpec  # the reward, exactly as the score step computes it
    target: str  # the rejection target
    languages: list  # the scope's languages
    samples: int  # responses per prompt and step
    max_new_tokens: int
    temperature: float
    top_p: float
    checkpoints: list  # the steps whose adapters the run keeps
    code: str


def select_pairs(rewards: np.ndarray, owner: np.ndarray, prompts: int, target: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(chosen rows, rejected rows, prompts without a pair) over k samples per prompt: `owner[i]` is sample i's
    prompt, `rewards[i]` its reward (NaN: not scored). The pair rule is the offline one; a prompt without a pair
    gets the same row twice."""
    from workflow_scripts.stages.pairs import select

    scored = np.flatnonzero(np.isfinite(rewards))
    chosen = np.array([np.flatnonzero(owner == p)[0] for p in range(prompts)])
    rejected = chosen.copy()
    if len(scored):
        picked = select(owner[scored], np.zeros(len(scored), int), scored, rewards[scored], target)
        chosen[picked.group] = scored[picked.chosen]
        rejected[picked.group] = chosen[picked.group]
        paired = picked.rejected >= 0
        rejected[picked.group[paired]] = scored[picked.rejected[paired]]
    return chosen, rejected, int(np.sum(chosen == rejected))


def trainer_class():
    """OnlineDPOTrainer sampling k responses per prompt and pairing them by the offline rule (see the module)."""
    import torch
    from trl.experimental.online_dpo import OnlineDPOTrainer

    from workflow_scripts.stages.scoring import score_responses

    class KSampleOnlineDPOTrainer(OnlineDPOTrainer):
        def __init__(self, *args, scorer, score: ScoreSpec, samples: int, target: str, **kwargs):
            self.pair_rewards: list[float] = []

            def reward_of_selected_pairs(prompts, completions, **_):
                """The reward model's scores of the completions TRL receives: the pairs _generate selected."""
                if len(completions) != len(self.pair_rewards):
                    raise RuntimeError(f"{len(completions)} completions, {len(self.pair_rewards)} selected rewards")
                return list(self.pair_rewards)

            super().__init__(*args, reward_funcs=[reward_of_selected_pairs], **kwargs)
            self.scorer, self.score, self.samples, self.target = scorer, score, samples, target
            for key in ("online/unpairable", "online/reward_mean", "online/reward_std", "online/scored"):
                self.stats[key] = []

        def _generate(self, model, prompts, images=None):
            copies = math.ceil(self.samples / 2)  # TRL samples two per prompt: k prompts copies give 2 x copies
            prompt_ids, prompt_mask, completion_ids, completion_mask, _ = super()._generate(model, prompts * copies, images)
            n = len(prompts)
            owner = np.arange(completion_ids.shape[0]) % n
            texts = self.processing_class.batch_decode(completion_ids, skip_special_tokens=True)
            user = [prompts[p][-1]["content"] for p in owner]
            columns = score_responses(self.score, self.scorer, user, texts)
            rewards = np.array([np.nan if r is None else r for r in columns["reward"]], dtype=np.float64)
            chosen, rejected, unpairable = select_pairs(rewards, owner, n, self.target)
            rows = torch.as_tensor(np.concatenate([chosen, rejected]), device=completion_ids.device)
            # chosen first: TRL takes the first half as chosen where its reward is at least the second half's (a
            # prompt without a pair has the same sample, and reward, in both halves)
            self.pair_rewards = np.nan_to_num(rewards[np.concatenate([chosen, rejected])], nan=0.0).tolist()
            finite = rewards[np.isfinite(rewards)]
            self.stats["online/unpairable"].append(float(unpairable))
            self.stats["online/scored"].append(float(finite.size))
            self.stats["online/reward_mean"].append(float(finite.mean()) if finite.size else math.nan)
            self.stats["online/reward_std"].append(float(finite.std()) if finite.size else math.nan)
            return prompt_ids[rows], prompt_mask[rows], completion_ids[rows], completion_mask[rows], None

    return KSampleOnlineDPOTrainer


def train_online(spec: OnlineSpec, pairs_path: str, out_dir: Path, threads: int, tracking: Tracking = NO_TRACKING) -> None:
    """One online DPO run; keeps the adapter at every checkpoint step. Its prompts are those its offline twin
    trains on: the rows of the twin's pair table, less the same held-out rows, in the same order (with the same
    seed and global batch, the trainer then draws the same prompts for each step)."""
    import torch
    from datasets import Dataset
    from trl.experimental.online_dpo import OnlineDPOConfig

    from workflow_scripts.stages.scoring import make_scorer
    from workflow_scripts.stages.training.curves import training_curves
    from workflow_scripts.stages.training.train import (
        checkpoint_callback,
        held_out_split,
        load_policy,
        lora_config,
        trainer_arguments,
    )

    training, common = spec.training, spec.training.common
    table = read_parquet_columns(pairs_path, {"prompt_id": "string", "prompt": "string"})
    train_rows, _ = held_out_split(table.num_rows, common.eval_fraction, common.seed)
    prompt_ids = [table.column("prompt_id")[i].as_py() for i in train_rows]
    rows = [{"prompt": [{"role": "user", "content": table.column("prompt")[i].as_py()}]} for i in train_rows]
    if not rows:
        raise UserError("no prompts to train on (the offline pair table has none)", file=str(pairs_path))
    torch.set_num_threads(threads)
    # The reward engine first: on a GPU it takes its share of the memory before the policy is loaded.
    scorer = make_scorer(spec.score)
    tokenizer, model = load_policy(training)
    attach_run_config(model, tracking, spec.params())
    with atomic_directory(out_dir) as tmp:
        tmp = Path(tmp)
        args = OnlineDPOConfig(
            **trainer_arguments(training, tmp / "trainer", tracking),
            beta=training.beta,
            max_new_tokens=spec.max_new_tokens,
            temperature=spec.temperature,
            top_p=spec.top_p,
        )
        trainer = trainer_class()(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=lora_config(training.lora),
            callbacks=[checkpoint_callback(list(spec.checkpoints), tmp)],
            scorer=scorer,
            score=spec.score,
            samples=spec.samples,
            target=spec.target,
        )
        print(
            f"[croco] online DPO on {len(rows)} prompts ({', '.join(spec.languages)}): {common.max_steps} steps of "
            f"{args.per_device_train_batch_size} prompts x {spec.samples} samples",
            flush=True,
        )
        started = time.time()
        result = trainer.train()
        finish_trackers(tracking)
        tokenizer.save_pretrained(tmp)
        metrics = {
            "method": "online-dpo",
            "policy": training.policy,
            "prompts": len(rows),
            "train_prompt_ids": prompt_ids,  # in the order the trainer's sampler permutes (the offline twin's)
            "global_batch_size": args.per_device_train_batch_size * args.gradient_accumulation_steps,
            "languages": list(spec.languages),
            "samples_per_prompt": spec.samples,
            "target": spec.target,
            "checkpoints": list(spec.checkpoints),
            "policy_identity": training.model.identity,
            "train_runtime_s": time.time() - started,
            "summary": result.metrics,
            "log_history": trainer.state.log_history,
            "hyperparameters": {k: v for k, v in spec.params().items() if k != "code"},
        }
        (tmp / "training_metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
        training_curves(trainer.state.log_history, f"{training.policy} online DPO", tmp / "training_curves.png")
        shutil.rmtree(tmp / "trainer", ignore_errors=True)  # trainer scratch, not part of the artifact
    print(f"[croco] online DPO checkpoints written to {out_dir}", flush=True)


def train_online_step(snakemake) -> None:
    spec = OnlineSpec.load(snakemake.params.spec)
    out_dir = Path(snakemake.output.run)
    train_online(spec, snakemake.input.prompts, out_dir, snakemake.threads, Tracking.from_config(snakemake.config, out_dir))
