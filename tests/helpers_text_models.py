"""Tiny real transformers checkpoints (BERT with a WordPiece vocabulary, RoBERTa with a byte-level
BPE), written with ``save_pretrained`` exactly as a downloaded model directory is laid out."""

from __future__ import annotations

from pathlib import Path

import torch

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "this", "film", "movie", "was", "is", "good", "great", "fine", "bad"]
WORDS += ["awful", "dull", "plot", "acting", "##s", "##ly"]
CORPUS = [
    "this film was good",
    "the plot was dull",
    "awful acting and a bad movie",
    "a great film with fine acting",
] * 5


def save_tiny_bert(directory: Path, hidden: int = 32, seed: int = 0) -> Path:
    """A 2-layer BERT masked-LM checkpoint (like bert-base's) and its tokenizer in ``directory``."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    staging = directory.parent / f"{directory.name}_vocab"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "vocab.txt").write_text("\n".join(SPECIAL + WORDS) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(str(staging), local_files_only=True)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    torch.manual_seed(seed)
    BertForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_tiny_roberta(
    directory: Path,
    hidden: int = 32,
    seed: int = 0,
    layers: int = 2,
    heads: int = 2,
    intermediate: int | None = None,
    max_positions: int = 80,
    masked_lm: bool = False,
) -> Path:
    """A RoBERTa (2 layers by default) and a byte-level BPE tokenizer trained on a corpus; a
    sequence classifier, or with ``masked_lm`` a masked-LM checkpoint as the hub's roberta-*."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import (
        RobertaConfig,
        RobertaForMaskedLM,
        RobertaForSequenceClassification,
        RobertaTokenizerFast,
    )

    staging = directory.parent / f"{directory.name}_bpe"
    staging.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS,
        vocab_size=300,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    bpe.save_model(str(staging))  # vocab.json + merges.txt, the files roberta-base ships
    tokenizer = RobertaTokenizerFast.from_pretrained(str(staging), local_files_only=True)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate or 2 * hidden,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model_class = RobertaForMaskedLM if masked_lm else RobertaForSequenceClassification
    model_class(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
