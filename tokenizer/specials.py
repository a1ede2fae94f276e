"""Special-token layout: which ids are reserved, for what, at fixed positions.

Layout of a vocabulary of size ``V`` (163,840 for A.X K1):

* id 0: ``<unk>`` (never produced: byte fallback covers every character);
* ids 1..256: the byte pieces ``<0x00>`` .. ``<0xFF>`` (byte ``b`` is id ``b + 1``);
* ids 257 .. V-150: learned BPE pieces;
* ids V-149 .. V-1: the special block (149 ids). Its first id is ``<|endoftext|>``, used as
  both BOS and EOS. With V = 163,840 that is id 163,691, the id the released A.X K1 model uses, so
  the block is placed at the end of the vocabulary to stay compatible with it.

Inside the special block every name has a fixed offset, so adding a token later only consumes a
``<|reserved_k|>`` slot and never moves an existing id. Two kinds of specials exist:

* *control* tokens (BOS/EOS, PAD, chat roles, think and tool markers, FIM, reserved) are never
  produced from raw text: a web page that literally contains ``<|endoftext|>`` is tokenised as
  ordinary characters. Chat formatting inserts them by id (or through the chat template);
* *PII placeholders* are matched in raw text: the PII stage writes them into documents, and each
  becomes a single token.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The A.X K1 vocabulary size, special block included.
FULL_VOCAB_SIZE = 163_840
#: Number of ids reserved at the end of the vocabulary.
SPECIAL_BLOCK_SIZE = 149
#: Ids below the learned pieces: ``<unk>`` plus 256 byte pieces.
BASE_PIECES = 257
#: Smallest vocabulary the trainer accepts (bytes + specials + some merges).
MIN_VOCAB_SIZE = 1024

UNK = "<unk>"
EOS = "<|endoftext|>"
BOS = EOS
PAD = "<|pad|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
END_OF_TURN = "<|end_of_turn|>"

#: Control tokens at fixed offsets from the start of the block.
CONTROL_TOKENS: tuple[str, ...] = (
    EOS,                 # 0: BOS = EOS (id 163,691 in the full vocabulary)
    PAD,                 # 1
    "<|system|>",        # 2: chat roles
    "<|user|>",          # 3
    "<|assistant|>",     # 4
    "<|tool|>",          # 5
    END_OF_TURN,         # 6
    THINK_OPEN,          # 7: think / non-think modes
    THINK_CLOSE,         # 8
    "<tool_call>",       # 9: tool calling
    "</tool_call>",      # 10
    "<tool_response>",   # 11
    "</tool_response>",  # 12
    "<tools>",           # 13
    "</tools>",          # 14
    "<|fim_prefix|>",    # 15: fill-in-the-middle for code
    "<|fim_middle|>",    # 16
    "<|fim_suffix|>",    # 17
)
#: Offset of the first PII placeholder inside the block; 32 slots are kept for them.
PII_OFFSET = 32
PII_SLOTS = 32
#: Placeholders the PII stage writes into text (one token each). Must equal
#: ``stages.pii.PII_PLACEHOLDERS`` (a test checks it when that module is present).
PII_PLACEHOLDERS: tuple[str, ...] = tuple(f"<|pii:{kind}|>" for kind in (
    "rrn", "frn", "phone", "brn", "passport", "driver_license", "bank_account", "address",
    "email", "ip", "credit_card", "iban", "url_credentials", "secret", "name",
))


@dataclass(frozen=True)
class SpecialToken:
    """One reserved token: its text, its offset in the block, and whether raw text may produce it."""

    content: str
    offset: int
    in_text: bool  # True for PII placeholders (matched in raw text); False for control tokens

    def token_id(self, vocab_size: int) -> int:
        return special_base(vocab_size) + self.offset


def special_base(vocab_size: int) -> int:
    """First id of the special block."""
    return vocab_size - SPECIAL_BLOCK_SIZE


def special_tokens() -> list[SpecialToken]:
    """Every token of the block, in id order (reserved slots filled with ``<|reserved_k|>``)."""
    if len(CONTROL_TOKENS) > PII_OFFSET or len(PII_PLACEHOLDERS) > PII_SLOTS:
        raise ValueError("special-token groups overflow their slots")
    slots: dict[int, SpecialToken] = {}
    for i, tok in enumerate(CONTROL_TOKENS):
        slots[i] = SpecialToken(tok, i, in_text=False)
    for i, tok in enumerate(PII_PLACEHOLDERS):
        slots[PII_OFFSET + i] = SpecialToken(tok, PII_OFFSET + i, in_text=True)
    out: list[SpecialToken] = []
    reserved = 0
    for offset in range(SPECIAL_BLOCK_SIZE):
        if offset in slots:
            out.append(slots[offset])
        else:
            out.append(SpecialToken(f"<|reserved_{reserved}|>", offset, in_text=False))
            reserved += 1
    return out


def special_ids(vocab_size: int) -> dict[str, int]:
    """Map special-token text to id for a vocabulary of ``vocab_size``."""
    return {t.content: t.token_id(vocab_size) for t in special_tokens()}
