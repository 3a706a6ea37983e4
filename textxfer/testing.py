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
    """Build an uncased WordPiece tokenizer for ``texts`` and save it as a BERT tokenizer in ``folder``.

    The vocabulary is made here, not by ``tokenizers``' trainer (whose ties fall differently from
    one process to the next, so the same texts gave different vocabularies and different tiny
    models): the special tokens, every character alone and as a ``##`` continuation, then the
    texts' words, most frequent first (ties alphabetical), up to ``vocab_size``. Same texts, same
    tokenizer, in any process.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokens = _wordpiece_vocab(texts, vocab_size, special, normalizer, pre_tokenizer)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
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


def _wordpiece_vocab(texts, vocab_size, special, normalizer, pre_tokenizer) -> list[str]:
    """Special tokens, characters, ``##`` characters, then words by (-count, word)."""
    from collections import Counter

    counts = Counter(
        word
        for text in texts
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
    )
    chars = sorted({c for word in counts for c in word})
    tokens = special + chars + [f"##{c}" for c in chars]
    known = set(tokens)
    for word in sorted(counts, key=lambda w: (-counts[w], w)):
        if len(tokens) >= vocab_size:
            break
        if word not in known:
            tokens.append(word)
            known.add(word)
    return tokens


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
