"""The core layer: document schema, the stage interface, Parquet/JSON io, input readers, executors,
per-stage statistics and the packed token-shard format. It imports nothing else of this project;
stages, the tokenizer, the trainer and the orchestration on top are built on it."""
