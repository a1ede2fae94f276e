"""Think-Fusion mixer: budgets per group (source / language), then think or non-think per prompt.

1. *groups*: each conversation joins the first group whose ``where`` it matches (unmatched ones
   are counted as ``no_group``). A group's target is ``share * budget`` examples; each of its ``n``
   conversations is used ``floor(x) + Bernoulli(frac(x))`` times with ``x = min(target / n,
   max_epochs)``, the coin a hash of (seed, id), like the pretraining mixer. A group that cannot
   reach its target at ``max_epochs`` reports a shortfall.
2. *modes*: a conversation can be a think example only when its last assistant turn has
   reasoning. Prompts (hash of the prompt view) are ranked by a seeded hash; whole prompts whose
   conversations are all eligible become think-mode, in rank order, until ``think_share`` of the
   examples is reached, so one prompt never appears in both modes. With ``both_modes`` the mode is
   drawn per example instead (repeats of one prompt may differ).
3. *order*: examples are shuffled by a hash of (seed, id, copy).

Everything depends only on the seed and the rows, never on input order.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import xxhash

from core.stats import StageStats
from sft.config import MixGroup, MixSection
from sft.schema import has_final_reasoning, prompt_text


def _unit(seed: int, *parts: Any) -> float:
    """A uniform number in [0, 1) from a hash of the seed and parts."""
    key = "\x00".join(str(p) for p in (seed, *parts)).encode("utf-8", "surrogatepass")
    return xxhash.xxh3_64_intdigest(key) / 2**64


def _group_of(row: dict[str, Any], groups: list[MixGroup]) -> str | None:
    for g in groups:
        if all(row.get(col) in values for col, values in g.where.items()):
            return g.name
    return None


def mix(rows: list[dict[str, Any]], cfg: MixSection, seed: int) -> tuple[list[dict[str, Any]], StageStats, dict]:
    """Examples (rows plus ``mode``, ``copy``, ``group``) in training order, stats and a mix summary."""
    st = StageStats("mix", docs_in=len(rows))
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r["id"]):
        g = _group_of(r, cfg.groups)
        if g is None:
            st.rejected["no_group"] += 1
        else:
            members[g].append(r)
    examples: list[dict[str, Any]] = []
    groups_summary = {}
    for g in cfg.groups:
        conv = members.get(g.name, [])
        target = round(g.share * cfg.budget)
        x = min(target / len(conv), g.max_epochs) if conv else 0.0
        used = 0
        for r in conv:
            copies = math.floor(x) + (1 if _unit(seed, "copies", r["id"]) < x - math.floor(x) else 0)
            if copies == 0:
                st.rejected["sampled_out"] += 1
                continue
            used += 1
            examples += [{**r, "group": g.name, "copy": c} for c in range(copies)]
        emitted = sum(1 for e in examples if e["group"] == g.name)
        groups_summary[g.name] = {"available": len(conv), "target": target, "epochs": round(x, 4),
                                  "conversations_used": used, "examples": emitted,
                                  "shortfall": max(0, target - emitted)}
    st.kept = len(rows) - st.rejected_total - st.errors_total
    _assign_modes(examples, cfg, seed)
    examples.sort(key=lambda e: _unit(seed, "order", e["id"], e["copy"]))
    n_think = sum(e["mode"] == "think" for e in examples)
    target_think = round(cfg.think_share * len(examples))
    st.add("examples", len(examples))
    st.add("think_examples", n_think)
    summary = {
        "budget": cfg.budget, "examples": len(examples), "think": n_think, "non_think": len(examples) - n_think,
        "think_share_target": cfg.think_share, "think_share": round(n_think / len(examples), 4) if examples else None,
        "think_shortfall": max(0, target_think - n_think), "both_modes": cfg.both_modes,
        "groups": groups_summary,
        "by_language": dict(sorted(Counter(e.get("language") or "unknown" for e in examples).items())),
        "by_source": dict(sorted(Counter(e["source"] for e in examples).items())),
        "by_mode_language": dict(sorted(Counter(f"{e['mode']}:{e.get('language') or 'unknown'}"
                                                for e in examples).items())),
    }
    return examples, st, summary


def _assign_modes(examples: list[dict[str, Any]], cfg: MixSection, seed: int) -> None:
    target = round(cfg.think_share * len(examples))
    for e in examples:
        e["mode"] = "non_think"
    if cfg.both_modes:
        eligible = [e for e in examples if has_final_reasoning(e)]
        eligible.sort(key=lambda e: _unit(seed, "mode", e["id"], e["copy"]))
        for e in eligible[:target]:
            e["mode"] = "think"
        return
    by_prompt: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in examples:
        by_prompt[xxhash.xxh3_64_hexdigest(prompt_text(e).encode("utf-8", "surrogatepass"))].append(e)
    ranked = sorted((k for k, es in by_prompt.items() if all(has_final_reasoning(e) for e in es)),
                    key=lambda k: _unit(seed, "mode", k))
    taken = 0
    for k in ranked:
        if taken >= target:
            break
        group = by_prompt[k]
        if taken + len(group) > target and taken:  # never overshoot by a whole prompt's repeats
            continue
        for e in group:
            e["mode"] = "think"
        taken += len(group)
