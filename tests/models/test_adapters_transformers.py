"""transformers adapter: a tiny pipeline built from a local config, saved and loaded offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is imported
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from importlib.metadata import version as installed
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertTokenizerFast,
    pipeline,
)

from landmark import load_model, save_model
from landmark.errors import SignatureError, UnsafeModel
from landmark.models.adapter import adapter_for

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "the", "was"]
TEXTS = ["the movie was good", "bad movie", "good good good", "the the"]


def release(dist: str) -> str:
    """The installed version without a local label (torch's "+cpu"), as requirements pin it."""
    return installed(dist).split("+", 1)[0]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A two-label text classifier: random weights from a seed, a vocabulary of ten words."""
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
    )
    model = BertForSequenceClassification(config).eval()
    return pipeline("text-classification", model=model, tokenizer=tokenizer)


def test_round_trip_from_local_files(tmp_path: Path, classifier: Any) -> None:
    assert adapter_for(classifier).name == "transformers"
    meta = save_model(classifier, tmp_path / "m", TEXTS[:2])
    assert (meta.adapter, meta.format, meta.safe) == ("transformers", "pretrained", True)
    assert meta.extra["task"] == "text-classification"
    files = {f.path for f in meta.files}
    assert "pipeline/model.safetensors" in files and "pipeline/config.json" in files
    assert not any(f.endswith(".bin") for f in files)
    loaded = load_model(tmp_path / "m")
    got, want = loaded(TEXTS), classifier(TEXTS)
    assert loaded.predict(TEXTS) == got  # every model answers predict: here, __call__
    assert loaded.default_method == "__call__" and loaded.endpoints == ("predict",)
    assert [g["label"] for g in got] == [w["label"] for w in want]
    assert [g["score"] for g in got] == pytest.approx([w["score"] for w in want], rel=1e-5)
    spec = meta.methods["__call__"]
    assert spec.input.describe() == "list[str]"
    assert spec.output.describe() == "list[dict{label: str, score: float}]"
    with pytest.raises(SignatureError, match=r"input\[1\]: expected str, got int"):
        loaded(["fine", 3])
    pins = {r.name.lower(): r.version for r in meta.requirements}
    for dist in ("transformers", "torch", "safetensors", "tokenizers"):
        assert pins[dist] == release(dist)


def test_pickled_weights_in_the_folder_need_trust(tmp_path: Path, classifier: Any) -> None:
    save_model(classifier, tmp_path / "m", TEXTS[:1])
    # A folder someone changed: a pickled checkpoint next to the safetensors file.
    torch.save({"w": torch.zeros(1)}, tmp_path / "m" / "pipeline" / "pytorch_model.bin")
    with pytest.raises(UnsafeModel, match=r"pytorch_model\.bin"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("rel", ["pipeline/model.safetensors", "pipeline/config.json"])
def test_a_damaged_model_file_is_one_error(
    tmp_path: Path, classifier: Any, rel: str, how: str
) -> None:
    save_model(classifier, tmp_path / "m", TEXTS[:1])
    check_damage(tmp_path / "m", rel, how, named="pipeline")


def test_unsigned_damage_and_a_missing_file(tmp_path: Path, classifier: Any) -> None:
    save_model(classifier, tmp_path / "a", TEXTS[:1])
    check_unsigned(tmp_path / "a", "pipeline/model.safetensors")
    save_model(classifier, tmp_path / "b", TEXTS[:1])
    check_missing(tmp_path / "b", "pipeline/model.safetensors", named="pipeline")
