"""The A.X K1 tokenizer: training, evaluation, export, and packing a corpus into token shards.

Depends on the core only; the trainer reads its shards through their file format (``core.indexed``)."""
