"""Export the sentencepiece model as a Hugging Face ``tokenizer.json`` folder with a chat template.

The fast tokenizer reproduces sentencepiece's ids exactly:

* vocabulary strings are the sentencepiece pieces with ``▁`` turned back into a space, so the
  tokenizer needs no normaliser and a literal ``▁`` in text falls back to bytes (lossless);
* merges are every ``(a, b)`` with ``a``, ``b`` and ``a + b`` in the vocabulary, ranked by the
  score of ``a + b`` (sentencepiece BPE merges any adjacent pair whose concatenation is a piece,
  highest score first, leftmost on ties);
* the pre-tokeniser only cuts where no piece can cross (before a run of spaces: pieces hold a
  space only as a single leading one, or are all spaces), so results equal unsplit BPE while
  letting the Rust encoder cache words;
* control specials are ``special`` added tokens (skipped from raw text when the encoder sets
  ``encode_special_tokens``), PII placeholders are plain added tokens (always matched).
"""

from __future__ import annotations

import json
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as HFTokenizer

from tokenizer.specials import EOS, PAD, UNK
from tokenizer.spm_model import BYTE, CONTROL, NORMAL, UNKNOWN, USER_DEFINED

SPACE = "\u2581"
#: Cut text into words of optional leading spaces plus non-space characters, or a space run.
WORD_PATTERN = r" *[^ ]+| +"

CHAT_TEMPLATE = r'''{%- set roles = {'system': '<|system|>', 'user': '<|user|>', 'assistant': '<|assistant|>', 'tool': '<|tool|>'} -%}
{%- set ns = namespace(messages=messages) -%}
{%- if tools -%}
  {{- '<|system|>\n' -}}
  {%- if messages and messages[0].role == 'system' -%}
    {{- messages[0].content + '\n' -}}
    {%- set ns.messages = messages[1:] -%}
  {%- endif -%}
  {{- '<tools>\n' -}}
  {%- for tool in tools -%}{{- (tool | tojson) + '\n' -}}{%- endfor -%}
  {{- '</tools><|end_of_turn|>\n' -}}
{%- endif -%}
{%- for message in ns.messages -%}
  {{- roles[message.role] + '\n' -}}
  {%- if message.role == 'assistant' -%}
    {%- if message.reasoning_content -%}
      {{- '<think>\n' + (message.reasoning_content | trim) + '\n</think>\n\n' -}}
    {%- endif -%}
    {%- if message.content -%}{{- message.content -}}{%- endif -%}
    {%- for call in (message.tool_calls or []) -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {%- set args = fn.arguments if fn.arguments is string else (fn.arguments | tojson) -%}
      {{- '<tool_call>\n{"name": ' + (fn.name | tojson) + ', "arguments": ' + args + '}\n</tool_call>' -}}
    {%- endfor -%}
  {%- elif message.role == 'tool' -%}
    {{- '<tool_response>\n' + message.content + '\n</tool_response>' -}}
  {%- else -%}
    {{- message.content -}}
  {%- endif -%}
  {{- '<|end_of_turn|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<|assistant|>\n' -}}
  {%- if enable_thinking is defined and enable_thinking is false -%}
    {{- '<think>\n\n</think>\n\n' -}}
  {%- endif -%}
{%- endif -%}
'''


def hf_token(piece: str) -> str:
    return piece.replace(SPACE, " ")


def build_hf_tokenizer(model_proto: bytes) -> HFTokenizer:
    """Build the fast tokenizer equivalent to a laid-out sentencepiece BPE model."""
    proto = pb.ModelProto()
    proto.ParseFromString(model_proto)
    vocab: dict[str, int] = {}
    scores: dict[str, float] = {}
    for i, p in enumerate(proto.pieces):
        text = hf_token(p.piece) if p.type == NORMAL else p.piece
        if text in vocab:
            raise ValueError(f"duplicate vocabulary entry {text!r}")
        vocab[text] = i
        if p.type == NORMAL:
            scores[text] = p.score
    merges: list[tuple[float, int, int, int, str, str]] = []
    for piece, score in scores.items():
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in scores and b in scores:
                merges.append((-score, vocab[piece], vocab[a], vocab[b], a, b))
    merges.sort()
    bpe = models.BPE(vocab=vocab, merges=[(m[4], m[5]) for m in merges], unk_token=UNK,
                     byte_fallback=True, fuse_unk=False)
    tok = HFTokenizer(bpe)
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    control: list[AddedToken] = []
    in_text: list[AddedToken] = []
    for i, p in enumerate(proto.pieces):
        if p.type in (CONTROL, USER_DEFINED):
            (control if p.type == CONTROL else in_text).append(AddedToken(
                p.piece, special=p.type == CONTROL, normalized=False, single_word=False,
                lstrip=False, rstrip=False))
        elif p.type not in (NORMAL, UNKNOWN, BYTE):
            raise ValueError(f"unsupported piece type {p.type} at id {i}")
    tok.add_special_tokens(control)
    tok.add_tokens(in_text)
    for i, p in enumerate(proto.pieces):
        if p.type in (CONTROL, USER_DEFINED) and tok.token_to_id(p.piece) != i:
            raise ValueError(f"added token {p.piece!r} landed on id {tok.token_to_id(p.piece)}, not {i}")
    return tok


def write_hf_folder(model_proto: bytes, out_dir: Path, vocab_size: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` and the template."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = build_hf_tokenizer(model_proto)
    if tok.get_vocab_size(with_added_tokens=True) != vocab_size:
        raise ValueError(f"fast tokenizer has {tok.get_vocab_size()} entries, expected {vocab_size}")
    tok.save(str(out_dir / "tokenizer.json"))
    proto = pb.ModelProto()
    proto.ParseFromString(model_proto)
    added_decoder = {
        str(i): {"content": p.piece, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": p.type == CONTROL}
        for i, p in enumerate(proto.pieces) if p.type in (CONTROL, USER_DEFINED)
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": EOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK,
        "add_bos_token": False, "add_eos_token": False,
        "clean_up_tokenization_spaces": False, "model_max_length": 131072,
        "added_tokens_decoder": added_decoder,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")
    (out_dir / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": EOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK}, indent=2) + "\n",
        encoding="utf-8")
    (out_dir / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
