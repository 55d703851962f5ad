"""The encoder's tokeniser without torch: its tokenizer.json read by the `tokenizers` library, which is what
transformers' fast tokeniser runs, so the token ids are the same; routing with ONNX Runtime needs nothing more."""
from __future__ import annotations

from pathlib import Path

import numpy as np

TOKENIZER_FILE = "tokenizer.json"


class FastTokenizer:
    """BERT-style tokenisation to numpy arrays, truncated to `max_length` tokens, padded to the longest in a batch."""

    def __init__(self, tokenizer, max_length: int):
        self._tokenizer = tokenizer
        self.max_length = max_length
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
        padding = tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if padding is None else padding

    @classmethod
    def from_folder(cls, folder: str | Path, max_length: int) -> "FastTokenizer":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(Path(folder) / TOKENIZER_FILE)), max_length)

    def __call__(self, texts: list[str], **_ignored) -> dict[str, np.ndarray]:
        """input_ids, token_type_ids and attention_mask as int64 arrays (B, L), as transformers returns them."""
        encodings = self._tokenizer.encode_batch(list(texts))
        longest = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(encodings), longest), self.pad_id, dtype=np.int64)
        types = np.zeros((len(encodings), longest), dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = encoding.ids, encoding.type_ids, 1
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}

    def words(self, text: str) -> tuple[list[str], list[int | None], list[tuple[int, int]]]:
        """The tokens of `text` as the router sees them, the word each belongs to (None for [CLS]/[SEP]) and each
        token's character span in `text`."""
        encoding = self._tokenizer.encode(text)
        return list(encoding.tokens), list(encoding.word_ids), [tuple(o) for o in encoding.offsets]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self._tokenizer.id_to_token(int(i)) for i in ids]


class TransformersTokenizer:
    """The same interface over a transformers tokeniser, for an encoder folder without tokenizer.json."""

    def __init__(self, tokenizer, max_length: int):
        self._tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, texts: list[str], **_ignored) -> dict[str, np.ndarray]:
        batch = self._tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        return {k: np.asarray(v, dtype=np.int64) for k, v in batch.items()}

    def words(self, text: str) -> tuple[list[str], list[int | None], list[tuple[int, int]]]:
        batch = self._tokenizer([text], truncation=True, max_length=self.max_length, return_offsets_mapping=True)
        tokens = self._tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
        return tokens, batch.word_ids(0), [tuple(o) for o in batch["offset_mapping"][0]]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return self._tokenizer.convert_ids_to_tokens(list(ids))


def load_tokenizer(folder: str | Path, max_length: int):
    """The tokeniser of an encoder folder: from tokenizer.json when there is one (no torch), else through transformers."""
    folder = Path(folder)
    if (folder / TOKENIZER_FILE).is_file():
        return FastTokenizer.from_folder(folder, max_length)
    from router_core.model.encoder import transformers_tokenizer  # transformers (and with it torch) only here

    return TransformersTokenizer(transformers_tokenizer(folder), max_length)
