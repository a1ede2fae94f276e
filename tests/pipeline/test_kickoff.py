"""The end-to-end kickoff job on the embedded sample: every artifact exists and is usable."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml

from pipeline.job import parse_job
from pipeline.kickoff import run_kickoff

REPO = Path(__file__).resolve().parents[2]


def _small_kickoff(tmp: Path) -> dict:
    data = yaml.safe_load((REPO / "jobs" / "pretrain_kickoff.yaml").read_text(encoding="utf-8"))
    data["output_dir"] = str(tmp / "kickoff")
    data["inputs"][0].update({"demo_pages": 400, "demo_shards": 2})
    data["tokenizer"].update({"vocab_size": 4096})
    data["pretrain"].update({"steps": 6, "seq_len": 64, "micro_batch": 2, "checkpoint_interval": 3,
                             "log_interval": 2})
    return data


def test_kickoff_runs_every_step_and_skips_when_up_to_date(tmp_path, caplog):
    job = parse_job(_small_kickoff(tmp_path))
    out = run_kickoff(job)
    run = Path(out["run_dir"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["rows"] > 0 and manifest["mix"]["sources"][0]["name"] == "ko_web"
    funnel = json.loads((run / "funnel.json").read_text())
    assert all(s["balanced"] for s in funnel["stages"])
    assert [s["stage"] for s in funnel["stages"]][:3] == ["read", "extract", "langid"]

    tok = Path(out["tokenizer"])
    for name in ("tokenizer.model", "tokenizer.json", "eval.json"):
        assert (tok / name).exists(), name
    from tokenizer.api import load_tokenizer

    tokenizer = load_tokenizer(tok)
    assert tokenizer.vocab_size == 4096

    shards = json.loads((Path(out["shards"]) / "manifest.json").read_text())
    assert shards["totals"]["tokens"] > 0 and set(shards["sources"]) <= {"ko_web", "en_web", "cjk_web"}
    from trainer.data import PackedLoader

    prefixes = [str(Path(out["shards"]) / f["prefix"]) for s in shards["sources"].values() for f in s["files"]]
    loader = PackedLoader(prefixes, [1.0] * len(prefixes), seq_len=32, micro_batch=2, vocab_size=4096)
    batch = next(iter(loader))
    assert batch["tokens"].shape == (2, 33) and int(batch["tokens"].max()) < 4096

    train = Path(out["train"])
    assert any(p.name.startswith("step_") for p in train.iterdir())
    metrics = [json.loads(line) for line in (train / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == 6 and all(m["loss"] == m["loss"] for m in metrics)

    page = Path(out["report"]).read_text(encoding="utf-8")
    for section in ("Funnel", "Mixture achieved vs target", "Tokenizer evaluation", "Pretraining"):
        assert section in page

    caplog.set_level(logging.INFO, logger="pipeline.kickoff")
    run_kickoff(job)
    skipped = [r.getMessage() for r in caplog.records if "up to date" in r.getMessage()]
    assert len(skipped) == 3  # tokenizer, pack, pretrain
