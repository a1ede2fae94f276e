"""Loading a trained tokenizer folder and encoding fast: the interface the packing step uses.

    tok = load_tokenizer("runs/tokenizer")
    ids = tok.encode_batch(["문서 하나", "doc two"])   # list[list[int]], no BOS/EOS added
    tok.eos_id, tok.bos_id, tok.pad_id, tok.vocab_size, tok.fingerprint
    tok.decode(ids[0]) == "문서 하나"

Two backends give identical ids: ``sentencepiece`` (multi-threaded C++ batch encode over
``num_threads``, the default: 20-37 % more tokens per CPU-second in benchmarks/tokenizer.py) and
``hf`` (Hugging Face tokenizers, Rust, parallel over ``RAYON_NUM_THREADS`` threads). Control
specials are never produced from raw text; PII placeholders are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from tokenizer.specials import EOS, PAD, UNK, special_ids

log = logging.getLogger(__name__)

MODEL_FILE = "tokenizer.model"
HF_FILE = "tokenizer.json"
META_FILE = "axk1_tokenizer.json"
_SPACE = "\u2581"
_SURROGATE = re.compile("[\ud800-\udfff]")


def file_fingerprint(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _clean(text: str | None) -> str:
    """Make any str encodable: lone surrogates (impossible in Arrow data) become U+FFFD."""
    if not text:
        return ""
    return _SURROGATE.sub("\ufffd", text)


class Tokenizer:
    """A trained A.X K1 tokenizer folder (``tokenizer.model`` + ``tokenizer.json``)."""

    def __init__(self, directory: str | Path, backend: str = "sentencepiece", num_threads: int | None = None) -> None:
        self.directory = Path(directory)
        if backend not in ("hf", "sentencepiece"):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.num_threads = num_threads or os.cpu_count() or 1
        model_path = self.directory / MODEL_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"{model_path} not found: not a trained tokenizer folder")
        self.fingerprint = file_fingerprint(model_path)
        meta_path = self.directory / META_FILE
        self.meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        if self.meta.get("fingerprint") not in (None, self.fingerprint):
            raise ValueError(f"{meta_path} describes another model file ({self.meta['fingerprint']})")
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(model_path))
        self._hf = None
        if backend == "hf":
            from tokenizers import Tokenizer as HFTokenizer

            self._hf = HFTokenizer.from_file(str(self.directory / HF_FILE))
            self._hf.encode_special_tokens = True  # control tokens in raw text stay plain text
            if self._hf.get_vocab_size(with_added_tokens=True) != self.vocab_size:
                raise ValueError("tokenizer.json and tokenizer.model disagree on the vocabulary size")

    # ---- ids -------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    @cached_property
    def special_ids(self) -> dict[str, int]:
        """Every control token and PII placeholder, text -> id."""
        ids = special_ids(self.vocab_size)
        wrong = [t for t, i in ids.items() if self._sp.id_to_piece(i) != t]
        if wrong:
            raise ValueError(f"{self.directory} does not follow the special-token layout: {wrong[:3]}")
        return ids

    @property
    def eos_id(self) -> int:
        return self.special_ids[EOS]

    @property
    def bos_id(self) -> int:
        return self.special_ids[EOS]

    @property
    def pad_id(self) -> int:
        return self.special_ids[PAD]

    @property
    def unk_id(self) -> int:
        return self._sp.piece_to_id(UNK)

    @cached_property
    def _control_ids(self) -> frozenset[int]:
        return frozenset(i for i in range(self.vocab_size) if self._sp.is_control(i))

    @cached_property
    def _space_bytes(self) -> list[int]:
        return [self._sp.piece_to_id(f"<0x{b:02X}>") for b in _SPACE.encode("utf-8")]

    def id_to_token(self, i: int) -> str:
        return self._sp.id_to_piece(i)

    def token_to_id(self, token: str) -> int:
        return self._sp.piece_to_id(token)

    # ---- encode / decode -------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str | None]) -> list[list[int]]:
        """Token ids of each text (no BOS/EOS added); None or empty gives an empty list."""
        texts = [t or "" for t in texts]
        try:
            return self._encode_batch(texts)
        except (TypeError, ValueError, UnicodeError):
            return self._encode_batch([_clean(t) for t in texts])

    def _encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self._hf is not None:
            return [e.ids for e in self._hf.encode_batch_fast(texts, add_special_tokens=False)]
        out = self._sp.encode(texts, num_threads=self.num_threads)
        for i, t in enumerate(texts):
            if _SPACE in t:  # sentencepiece reads U+2581 as a space: encode it as its bytes
                parts = self._sp.encode(t.split(_SPACE))
                ids = list(parts[0])
                for part in parts[1:]:
                    ids.extend(self._space_bytes)
                    ids.extend(part)
                out[i] = ids
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens render as their text."""
        ids = [int(i) for i in ids]
        if self._hf is not None:
            return self._hf.decode(ids, skip_special_tokens=False)
        out: list[str] = []
        start = 0
        for k, i in enumerate(ids):
            if i in self._control_ids:
                out.append(self._sp.decode(ids[start:k]))
                out.append(self._sp.id_to_piece(i))
                start = k + 1
        out.append(self._sp.decode(ids[start:]))
        return "".join(out)

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]


def load_tokenizer(directory: str | Path, backend: str = "sentencepiece", num_threads: int | None = None) -> Tokenizer:
    """Open a trained tokenizer folder (see :class:`Tokenizer`)."""
    return Tokenizer(directory, backend=backend, num_threads=num_threads)
