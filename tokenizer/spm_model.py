"""Training the sentencepiece BPE model and laying its pieces out at the fixed ids."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

from tokenizer.specials import BASE_PIECES, PII_PLACEHOLDERS, SPECIAL_BLOCK_SIZE, special_tokens

log = logging.getLogger(__name__)

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = (pb.ModelProto.SentencePiece.NORMAL,
                                                 pb.ModelProto.SentencePiece.UNKNOWN,
                                                 pb.ModelProto.SentencePiece.CONTROL,
                                                 pb.ModelProto.SentencePiece.USER_DEFINED,
                                                 pb.ModelProto.SentencePiece.BYTE)
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")


_TOO_SMALL = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


class VocabularyTooSmallError(ValueError):
    """The requested vocabulary cannot hold every character the coverage setting keeps."""

    def __init__(self, requested: int, required_chars: int) -> None:
        self.requested, self.required_chars = requested, required_chars
        super().__init__(
            f"vocab_size={requested:,} is too small for this text: sentencepiece must keep "
            f"{required_chars:,} distinct characters at the configured character_coverage. Raise "
            f"vocab_size (to at least {required_chars + SPECIAL_BLOCK_SIZE + 257:,}) or lower "
            f"character_coverage.")


class VocabularyTooLargeError(ValueError):
    """The sampled text cannot support the requested vocabulary size."""

    def __init__(self, requested: int, supported: int, sentences: int, sampled_bytes: int) -> None:
        self.requested, self.supported = requested, supported
        super().__init__(
            f"the sampled training text ({sampled_bytes / 1e6:.1f} MB in {sentences:,} sentences) "
            f"supports at most {supported:,} vocabulary entries including the special block, but "
            f"vocab_size={requested:,} was requested. Train on more text (the full 163,840 "
            f"configuration needs tens of MB of varied text) or lower vocab_size to <= {supported:,}. "
            f"The vocabulary is never shrunk silently.")


def learned_size(vocab_size: int) -> int:
    """Pieces sentencepiece must produce: unk + 256 bytes + merges + the PII user symbols."""
    return vocab_size - SPECIAL_BLOCK_SIZE + len(PII_PLACEHOLDERS)


def train_spm(sentences: Iterable[str], vocab_size: int, *, input_sentence_size: int,
              character_coverage: float, max_piece_length: int, max_sentence_chars: int,
              num_threads: int, seed: int) -> bytes:
    """Train byte-fallback BPE with identity normalisation; return the raw model proto.

    The PII placeholders are user symbols during training (kept whole, never merged into); the
    other specials are added afterwards by :func:`relayout`.
    """
    spm.set_random_generator_seed(seed)
    buf = io.BytesIO()
    counter = _Counting(sentences)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(counter), model_writer=buf, model_type="bpe",
            vocab_size=learned_size(vocab_size), byte_fallback=True, split_digits=True,
            normalization_rule_name="identity", add_dummy_prefix=False,
            remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
            split_by_whitespace=True, split_by_unicode_script=True,
            character_coverage=character_coverage, max_sentence_length=4 * max_sentence_chars + 16,
            max_sentencepiece_length=max_piece_length, input_sentence_size=input_sentence_size,
            shuffle_input_sentence=True, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
            user_defined_symbols=list(PII_PLACEHOLDERS), num_threads=num_threads,
            minloglevel=1,
        )
    except RuntimeError as exc:
        small = _TOO_SMALL.search(str(exc))
        if small:
            raise VocabularyTooSmallError(vocab_size, int(small.group(2))) from None
        m = _TOO_HIGH.search(str(exc))
        if not m:
            raise
        supported = int(m.group(2)) - len(PII_PLACEHOLDERS) + SPECIAL_BLOCK_SIZE
        raise VocabularyTooLargeError(vocab_size, supported - supported % 64, counter.n,
                                      counter.nbytes) from None
    return buf.getvalue()


class _Counting:
    """Wraps the sentence stream to count what reached the trainer."""

    def __init__(self, sentences: Iterable[str]) -> None:
        self.sentences, self.n, self.nbytes = sentences, 0, 0

    def __iter__(self):
        for s in self.sentences:
            self.n += 1
            self.nbytes += len(s.encode("utf-8", "surrogatepass"))
            yield s


def relayout(raw_model: bytes, vocab_size: int) -> bytes:
    """Reorder pieces to the fixed layout (unk, 256 bytes, merges, special block); see specials."""
    proto = pb.ModelProto()
    proto.ParseFromString(raw_model)
    by_type: dict[int, list[pb.ModelProto.SentencePiece]] = {}
    for p in proto.pieces:
        by_type.setdefault(p.type, []).append(p)
    unk, byte_pieces = by_type[UNKNOWN], by_type[BYTE]
    normal = by_type.get(NORMAL, [])
    if len(unk) != 1 or len(byte_pieces) != 256:
        raise ValueError("unexpected sentencepiece model: need one <unk> and 256 byte pieces")
    if BASE_PIECES + len(normal) != vocab_size - SPECIAL_BLOCK_SIZE:
        raise ValueError(f"model has {len(normal)} merges; expected {vocab_size - SPECIAL_BLOCK_SIZE - BASE_PIECES}")
    pieces = [unk[0], *sorted(byte_pieces, key=lambda p: int(p.piece[3:5], 16)), *normal]
    for tok in special_tokens():
        pieces.append(pb.ModelProto.SentencePiece(piece=tok.content, score=0.0,
                                                  type=USER_DEFINED if tok.in_text else CONTROL))
    out = pb.ModelProto()
    out.CopyFrom(proto)
    del out.pieces[:]
    out.pieces.extend(pieces)
    out.trainer_spec.vocab_size = vocab_size
    out.trainer_spec.unk_id, out.trainer_spec.bos_id = 0, -1
    out.trainer_spec.eos_id, out.trainer_spec.pad_id = -1, -1
    del out.trainer_spec.user_defined_symbols[:]
    return out.SerializeToString()
