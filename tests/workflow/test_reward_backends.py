"""The sequence-classifier reward backend through real vLLM pooling: raw scores, and skips for long samples."""

from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import worker_cores


@pytest.fixture(scope="module")
def reward_model_dir(materialized_model, tmp_path_factory):
    """SmolLM2 with a sequence-classification head (seeded), saved like a Skywork-style reward model."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(materialized_model, num_labels=1, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(materialized_model)
    model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = tmp_path_factory.mktemp("reward-model")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_sequence_classifier_gives_raw_scores_and_skips_long_samples(reward_model_dir, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workflow_scripts.runtime.spec import ModelRef
    from workflow_scripts.stages.scoring import ScoreSpec, score_step

    responses = ["Paris is the capital of France.", "I do not know.", "word " * 400, "Berlin."]
    generations = tmp_path / "gen.parquet"
    pq.write_table(
        pa.table(
            {
                "prompt_id": ["p1", "p1", "p1", "p2"],
                "language": ["en"] * 4,
                "sample_index": [0, 1, 2, 0],
                "prompt": ["What is the capital of France?"] * 3 + ["Capital of Germany?"],
                "response": responses,
            }
        ),
        generations,
    )
    out = tmp_path / "scores.parquet"
    spec = ScoreSpec(
        model=ModelRef(location=str(reward_model_dir), revision=None, identity="test", chat_template_kwargs={}),
        reward_model="test-rm",
        backend="sequence_classifier",
        rubric=None,
        max_length=200,
        empty_responses="skip",
        engine={
            "dtype": "auto",
            "max_model_len": 1024,
            "tensor_parallel_size": 1,
            "gpu_memory_utilization": 0.9,
            "enforce_eager": "auto",
            "max_num_seqs": None,
        },
        software={},
        code="test",
    )
    fake = SimpleNamespace(
        params=SimpleNamespace(spec=spec.params(), shard=[0, 1]),
        input=SimpleNamespace(generations=str(generations)),
        output=[str(out)],
        log=[],
        rule="score",
        threads=worker_cores(),
        resources=SimpleNamespace(samples_per_chunk=4096, engines=1),
    )
    score_step(fake)
    scores = pq.read_table(out).to_pylist()
    assert [s["status"] for s in scores] == ["scored", "scored", "skipped", "scored"]
    assert scores[2]["reward"] is None and "too long" in scores[2]["skip_reason"]
    # Raw head output, no activation: equal to the transformers forward pass.
    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(reward_model_dir, dtype=torch.float32)
    for row, response, prompt in zip(scores, responses, ["What is the capital of France?"] * 3 + ["Capital of Germany?"]):
        if row["status"] != "scored":
            continue
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], tokenize=False
        )
        with torch.no_grad():
            expected = model(**tokenizer(text, return_tensors="pt", add_special_tokens=False)).logits[0, 0].item()
        assert row["reward"] == pytest.approx(expected, rel=1e-3, abs=1e-3)


def test_prompts_that_do_not_fit_the_context_are_named(reward_model_dir):
    from transformers import AutoTokenizer

    from workflow_scripts.errors import UserError
    from workflow_scripts.runtime.engines import require_prompts_fit, token_prompts, too_long_prompts

    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    prompts = token_prompts(tokenizer, ["short prompt", "word " * 300])
    assert too_long_prompts(["p1", "p2"], prompts, 100) == [("p2", len(tokenizer("word " * 300)["input_ids"]))]
    assert too_long_prompts(["p1", "p2"], prompts, 10_000) == []
    with pytest.raises(
        UserError,
        match=r"\[file prompts/de.parquet, field 'prompt'\] 1 prompt\(s\) do not fit engine.max_model_len=100 tokens: "
        r"p2 \(30\d tokens\)",
    ):
        require_prompts_fit(["p1", "p2"], prompts, 100, file="prompts/de.parquet", field="prompt")


def test_engine_prompts_keep_the_templates_bos_and_add_none(reward_model_dir):
    """A chat template writes BOS itself; a tokenizer that also adds BOS (Gemma, Llama) must not double it,
    which vLLM's text-prompt path would do."""
    from tokenizers.processors import TemplateProcessing
    from transformers import AutoTokenizer

    from workflow_scripts.runtime.engines import token_prompts

    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    bos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    tokenizer._tokenizer.post_processor = TemplateProcessing(single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)])
    rendered = "<|endoftext|><|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer(rendered)["input_ids"][:2] == [bos, bos]  # what tokenizing the text with special tokens gives
    [prompt] = token_prompts(tokenizer, [rendered])
    assert prompt["prompt_token_ids"][0] == bos and prompt["prompt_token_ids"].count(bos) == 1
    assert tokenizer.decode(prompt["prompt_token_ids"]) == rendered
