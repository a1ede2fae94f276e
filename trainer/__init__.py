"""The A.X K1 MoE model and its pretraining loop.

Depends on the core only: packed shards come in through their file format (``core.indexed``)."""
