"""The comparison baselines at tiny scale, through the real code: ICR's log-probability pass checked against
a transformers forward pass of each sample on its own; MAPO's reward from a translation model of NLLB's
architecture built here, checked against the model's own loss per answer; both end to end in a copy of the
session's tiny run (ICR: the implicit rewards of every language under the English prompts, with the tiny run's
English Paired-DPO adapter as π_DPO; MAPO: Danish and German samples against the English ones; their pairs;
their DPO adapters)."""

import json
import re

import pyarrow.parquet as pq
import pytest
import torch

from workflow_scripts.runtime.spec import ModelRef
from workflow_scripts.stages.icr import ALPHA_GRID, ImplicitRewardSpec, implicit_rewards, load_policy_with_adapter

from helpers import MODEL, snakemake, tiny_config, write_config

PROMPTS = ["Name a colour.", "What is two plus two?", "Say hello.", "Write a long story."]
RESPONSES = ["Blå, som himlen.", "Vier.", "", " ".join(["word"] * 200)]  # Danish, German, empty, too long


@pytest.fixture(scope="module")
def random_adapter(materialized_model, tmp_path_factory):
    """π_DPO: the base model with a LoRA adapter of random, non-zero weights (its rewards are far from 0)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    directory = tmp_path_factory.mktemp("pi-dpo")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(materialized_model, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(directory)
    return directory


def forward_log_prob(model, tokenizer, prompt: str, response: str) -> float:
    """log p(response | chat-formatted prompt): one sequence, no padding, every response token's log-probability."""
    head = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    ids = head_ids + tokenizer(response, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    log_probs = torch.log_softmax(logits[:-1], dim=-1).gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).squeeze(-1)
    return float(log_probs[len(head_ids) - 1 :].sum())


def test_the_log_probability_pass_is_a_teacher_forced_forward(materialized_model, random_adapter):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    spec = ImplicitRewardSpec(
        model=ModelRef(str(materialized_model), None, "test", {}),
        dpo_adapter=str(random_adapter),
        source_language="en",
        max_length=120,
        batch_size=2,  # the two scored samples differ in length: one batch, padded
        precision="fp32",
        software={},
        code="",
    )
    tokenizer, model = load_policy_with_adapter(spec)
    got = implicit_rewards(spec, tokenizer, model, PROMPTS, RESPONSES)
    assert got["status"] == ["scored", "scored", "skipped", "skipped"]
    assert got["skip_reason"][2:] == ["empty_response", "too_long"]
    reference = AutoModelForCausalLM.from_pretrained(materialized_model, dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(materialized_model, dtype=torch.float32)
    policy = PeftModel.from_pretrained(base, random_adapter)
    for i in (0, 1):
        expected_policy = forward_log_prob(policy, tokenizer, PROMPTS[i], RESPONSES[i])
        expected_reference = forward_log_prob(reference, tokenizer, PROMPTS[i], RESPONSES[i])
        assert got["logp_policy"][i] == pytest.approx(expected_policy, abs=1e-3)
        assert got["logp_reference"][i] == pytest.approx(expected_reference, abs=1e-3)
        assert got["reward"][i] == pytest.approx(expected_policy - expected_reference, abs=2e-3)
        assert abs(got["reward"][i]) > 0.1  # the adapter moves the log-probabilities: a reward, not noise
    assert got["characters"] == [len(r) for r in RESPONSES]


# ---------------------------------------------------------------- MAPO

DANISH = ["Himlen er blå i dag.", "Jeg kan lide kaffe om morgenen.", "Katten sover på sofaen."]
ENGLISH = ["The sky is blue today.", "I like coffee in the morning.", "The cat sleeps on the sofa."]


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory):
    """A translation model of NLLB's architecture (M2M100, randomly initialised, a few hundred parameters per
    layer) with an NLLB tokenizer whose BPE is trained here, saved as a Hugging Face directory: the Hub is out of
    reach, the loading code (AutoTokenizer, AutoModelForSeq2SeqLM) is the one a Hub download meets."""
    from tokenizers import SentencePieceBPETokenizer
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    directory = tmp_path_factory.mktemp("tiny-nllb")
    bpe = SentencePieceBPETokenizer()
    bpe.train_from_iterator(DANISH + ENGLISH, vocab_size=120, special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in json.loads(bpe.to_str())["model"]["merges"]]
    tokenizer = NllbTokenizer(vocab=bpe.get_vocab(), merges=merges, src_lang="dan_Latn", tgt_lang="eng_Latn")
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    M2M100ForConditionalGeneration(config).save_pretrained(directory)
    return directory


def test_mapos_reward_is_the_mean_inverse_cross_entropy_of_the_english_answers(tiny_nllb):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from workflow_scripts.stages.mapo import AlignmentSpec, alignment_reward, load_translator

    spec = AlignmentSpec(
        model=ModelRef(str(tiny_nllb), None, "test", {}),
        language_code="dan_Latn",
        english_code="eng_Latn",
        max_length=512,
        batch_size=3,  # the three answers in one padded batch
        software={},
        code="",
    )
    tokenizer, model = load_translator(spec)
    got = alignment_reward(model, tokenizer, DANISH[0], ENGLISH, spec)
    # by hand: each answer alone (no padding), its token cross-entropy from the model's own loss
    reference_tokenizer = AutoTokenizer.from_pretrained(tiny_nllb)
    reference = AutoModelForSeq2SeqLM.from_pretrained(tiny_nllb).eval()
    inverse = []
    for answer in ENGLISH:
        reference_tokenizer.src_lang = "dan_Latn"
        x = reference_tokenizer(DANISH[0], return_tensors="pt")
        reference_tokenizer.src_lang = "eng_Latn"
        y = reference_tokenizer(answer, return_tensors="pt").input_ids
        assert y[0, 0] == reference_tokenizer.convert_tokens_to_ids("eng_Latn")  # the target as English text
        with torch.no_grad():
            loss = reference(**x, labels=y).loss
        inverse.append(1 / float(loss))
    assert got == pytest.approx(sum(inverse) / len(inverse), rel=1e-5)
    assert len({round(v, 6) for v in inverse}) == 3  # three different answers, three different terms


# ICR trains with an NLL term on the chosen responses (training.dpo.nll_weight; TRL's "sft" loss)
ICR_ADAPTER = f"results/adapters/{MODEL}/{MODEL}/multi-da+de+en/icr@nll_weight=1"
MAPO_ADAPTER = f"results/adapters/{MODEL}/{MODEL}/multi-da+de/mapo"  # English is never trained on


def test_icr_and_mapo_run_end_to_end_from_the_tiny_runs_samples(tiny_run_copy, tiny_nllb, tmp_path):
    import shutil

    ws = tiny_run_copy(tmp_path / "ws")
    shutil.copytree(tiny_nllb, ws / "tiny-nllb")
    c = tiny_config()
    c["models"]["tiny-nllb"] = {"path": "tiny-nllb"}
    c.setdefault("pairs", {})["mapo"] = {"model": "tiny-nllb", "batch_size": 3}
    c["experiments"]["icr"] = {"policy": MODEL, "methods": ["icr"], "regimes": ["multi"], "settings": {"nll_weight": 1.0}}
    c["experiments"]["mapo"] = {"policy": MODEL, "methods": ["mapo"], "regimes": ["multi"]}
    config = write_config(ws, c, "baselines.yaml")
    result = snakemake(ws, ICR_ADAPTER, MAPO_ADAPTER, "--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    ran = re.findall(r"^(?:local)?rule (\w+):$", result.stdout + result.stderr, re.MULTILINE)
    # the tiny run's samples and English adapter serve: only the rewards, the pairs and the adapters are new
    assert sorted(ran) == sorted(["alignment_rewards"] * 2 + ["implicit_rewards"] * 3 + ["preference_dataset", "train"] * 2), ran

    # ICR: every language's samples rewarded under the English prompts, pairs within a language
    for lang in ("en", "da", "de"):
        rewards = pq.read_table(ws / f"results/implicit_rewards/{MODEL}/{lang}.parquet").to_pandas()
        samples = pq.read_table(ws / f"results/generations/{MODEL}/{lang}.parquet").to_pandas()
        assert list(zip(rewards.prompt_id, rewards.sample_index)) == list(zip(samples.prompt_id, samples.sample_index))
        scored = rewards[rewards.status == "scored"]
        assert len(scored) and (scored.reward == scored.logp_policy - scored.logp_reference).all()
    stats = json.loads((ws / f"results/datasets/{MODEL}/multi-da+de+en/icr.stats.json").read_text())
    assert set(stats["per_language"]) == {"da", "de", "en"}
    assert all(float(s["alpha"]) in ALPHA_GRID for s in stats["per_language"].values())
    pairs = pq.read_table(ws / f"results/datasets/{MODEL}/multi-da+de+en/icr.parquet").to_pandas()
    assert len(pairs) == stats["pairs"] > 0 and (pairs.chosen_sample != pairs.rejected_sample).all()
    assert (pairs.chosen_language == pairs.prompt_language).all()
    metrics = json.loads((ws / ICR_ADAPTER / "training_metrics.json").read_text())
    assert metrics["method"] == "dpo" and metrics["hyperparameters"]["beta"] == 0.1
    assert metrics["hyperparameters"]["nll_weight"] == 1.0
    # at the first step the policy is its reference (LoRA B = 0): DPO's loss is log 2, the NLL term adds the
    # chosen responses' mean token NLL (several nats for a 135M model)
    first = next(row for row in metrics["log_history"] if "loss" in row)
    assert first["loss"] > 0.6932 + 0.5, first

    # MAPO: Danish and German samples rewarded against the English samples of their prompt; no English pairs
    for lang in ("da", "de"):
        rewards = pq.read_table(ws / f"results/alignment_rewards/{MODEL}/{lang}.parquet").to_pandas()
        scored = rewards[rewards.status == "scored"]
        assert len(scored) and (scored.reward > 0).all() and (scored.english_answers >= 1).all()
    assert not (ws / f"results/alignment_rewards/{MODEL}/en.parquet").exists()
    mapo = pq.read_table(ws / f"results/datasets/{MODEL}/multi-da+de/mapo.parquet").to_pandas()
    assert len(mapo) > 0 and set(mapo.prompt_language) <= {"da", "de"} and (mapo.chosen_reward > mapo.rejected_reward).all()
    assert (ws / MAPO_ADAPTER / "adapter_model.safetensors").is_file()
