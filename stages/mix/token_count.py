"""Exact token counts for the mixer, read straight from a trained tokenizer folder's file format.

The mixer needs only how many tokens each document costs, so it reads the folder's Hugging Face
``tokenizer.json`` with the ``tokenizers`` library (the same ids as the folder's sentencepiece model)
instead of importing the tokenizer package: stages depend on the core and on file formats only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

HF_TOKENIZER_FILE = "tokenizer.json"


class TokenCounter:
    """Token ids of texts under a trained tokenizer; control tokens in raw text stay plain text."""

    def __init__(self, directory: str | Path) -> None:
        from tokenizers import Tokenizer

        path = Path(directory) / HF_TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: tokenizer_dir is not a trained tokenizer folder")
        self._tok = Tokenizer.from_file(str(path))
        self._tok.encode_special_tokens = True

    def encode_batch(self, texts: Sequence[str | None]) -> list[list[int]]:
        """Token ids of each text, no BOS/EOS added; None counts as empty."""
        encoded = self._tok.encode_batch_fast([t or "" for t in texts], add_special_tokens=False)
        return [e.ids for e in encoded]
