"""Tiny random models and locally trained tokenizers, for tests, notebooks' SMOKE mode and demos.

Nothing here touches the network: the tokenizer is trained with ``tokenizers`` on the given texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DEFAULT_CORPUS = (
    "a stirring funny and finally transporting film",
    "apparently reassembled from the cutting room floor",
    "the movie is good and the acting is great",
    "the plot is bad and the pacing is terrible",
    "what city has the oldest bridge in the world",
    "how many people live in the country",
)


def train_wordpiece_tokenizer(
    folder: str | Path, texts: Iterable[str] = DEFAULT_CORPUS, vocab_size: int = 400
):
    """Train an uncased WordPiece tokenizer on ``texts`` and save it as a BERT tokenizer in ``folder``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special)
    )
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    fast.save_pretrained(str(folder))
    return fast


def make_tiny_bert(
    folder: str | Path,
    texts: Iterable[str] = DEFAULT_CORPUS,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    seed: int = 0,
    with_mlm_head: bool = True,
) -> Path:
    """Save a tiny random BERT (masked-LM weights by default) plus its tokenizer to ``folder``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertModel

    folder = Path(folder)
    tokenizer = train_wordpiece_tokenizer(folder, texts)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = BertForMaskedLM(config) if with_mlm_head else BertModel(config)
    model.save_pretrained(str(folder))
    return folder
