"""The per-GPU memory plan is computed from the model and adds up."""

from __future__ import annotations

import pytest

from trainer.config import get_config
from trainer.memory_plan import PlanInput, count_units, default_ep, plan
from trainer.model import build_model, count_parameters
from trainer.params import main

FULL = get_config("axk1-full")


@pytest.fixture(scope="module")
def units():
    return count_units(FULL)


def test_units_cover_every_parameter(units):
    total, _ = count_parameters(build_model(FULL, "meta"), FULL)
    counted = units.embed + units.root + sum(units.attn + units.router + units.experts + units.rest) + units.frozen
    assert counted == total
    # One MoE layer's experts are 192 x 3 x 7168 x 2048 parameters; per ep rank 1/64 of that.
    assert units.experts[5] == 192 * 3 * 7168 * 2048
    assert units.experts[0] == 0 and units.rest[0] > units.rest[5]  # dense SwiGLU on layer 0


def test_full_model_fits_512_gpus_with_ep64_and_not_64_gpus():
    assert default_ep(FULL, 512) == 64
    p = plan(FULL, PlanInput(512, 64))
    assert p.fits
    rows = {name: b for name, b, _ in p.rows}
    shard = rows["fp32 master parameters (shard)"] / 4
    # The shards over 512 ranks add up to the whole model (experts over 64 x 8, dense over 512).
    total, _ = count_parameters(build_model(FULL, "meta"), FULL)
    assert shard * 512 == pytest.approx(total - count_units(FULL).frozen, rel=1e-9)
    assert rows["AdamW m + v (fp32)"] == 2 * rows["fp32 gradients (shard)"]
    assert not plan(FULL, PlanInput(64, 64)).fits  # 8 B expert params per GPU: 130 GB of state alone
    with pytest.raises(ValueError, match="ep=5 must divide"):
        plan(FULL, PlanInput(512, 5))


def test_cli_prints_the_plan(capsys):
    assert main(["--plan", "512"]) == 0
    out = capsys.readouterr().out
    assert "ep=64 x efsdp=8" in out and "FITS" in out and "checkpointed layer inputs" in out
