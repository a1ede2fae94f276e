"""The A.X K1 decoder-only language model.

Layer: ``x = x + attn(norm1(x)); h = mlp(norm2(x)); x = x + h`` where ``mlp`` is a dense SwiGLU on
the first ``first_k_dense`` layers and an MoE (with its post-MLP RMSNorm) on the rest. Untied head.
Parameter names follow the Hugging Face ``axk1`` layout (``model.layers.N.self_attn.q_a_proj``...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from trainer.attention import AttentionContext, MLAttention, build_attention_context, default_inv_freq
from trainer.config import AttnImpl, ExpertImpl, ModelConfig
from trainer.layers import RMSNorm, SwiGLU
from trainer.losses import chunked_cross_entropy
from trainer.moe import MoE, Router


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int, expert_impl: ExpertImpl = "auto") -> None:
        super().__init__()
        self.is_moe = cfg.is_moe_layer(layer_idx)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MLAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        if self.is_moe:
            self.mlp: nn.Module = MoE(cfg, expert_impl)
        else:
            self.mlp = SwiGLU(cfg.hidden_size, cfg.intermediate_size)
            if cfg.dense_post_mlp_norm_weight:
                # Checkpoint-layout parity only: stored, never applied, never trained.
                self.unused_post_mlp_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
                self.unused_post_mlp_layernorm.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor, ctx: AttentionContext) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x + self.self_attn(self.input_layernorm(x), ctx)
        h = self.post_attention_layernorm(x)
        if self.is_moe:
            h, aux, counts = self.mlp(h)
        else:
            h = self.mlp(h)
            aux = h.new_zeros((), dtype=torch.float32)
            counts = torch.zeros(0, dtype=torch.int64, device=x.device)
        return x + h, aux, counts


@dataclass
class ModelOutput:
    """Logits (when asked), LM loss, summed balance loss and tokens per expert per MoE layer."""

    loss: torch.Tensor | None
    aux_loss: torch.Tensor
    expert_counts: torch.Tensor
    logits: torch.Tensor | None = None


class AXK1ForCausalLM(nn.Module):
    def __init__(
        self,
        cfg: ModelConfig,
        attn_impl: AttnImpl = "auto",
        expert_impl: ExpertImpl = "auto",
        activation_checkpointing: bool = False,
        loss_chunk_tokens: int = 2048,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.attn_impl = attn_impl
        self.activation_checkpointing = activation_checkpointing
        #: Tokens per chunk of the head + cross-entropy (0: materialise all logits at once).
        self.loss_chunk_tokens = loss_chunk_tokens
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i, expert_impl) for i in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.register_buffer("inv_freq", default_inv_freq(cfg), persistent=False)

    # ---- initialisation -------------------------------------------------------------------------
    @torch.no_grad()
    def init_weights(self, seed: int | None = None) -> None:
        """Normal(0, initializer_range) for matrices, ones for norms, zero balancing biases.

        Works after ``to_empty`` on meta-built (and FSDP-sharded) models.
        """
        if seed is not None:
            torch.manual_seed(seed)
        std = self.cfg.initializer_range
        self.inv_freq.copy_(default_inv_freq(self.cfg, self.inv_freq.device))
        for module in self.modules():
            if isinstance(module, RMSNorm):
                module.reset_parameters()
            elif isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=std)
            elif isinstance(module, Router):
                nn.init.normal_(module.weight, std=std)
                module.e_score_correction_bias.zero_()
            elif hasattr(module, "gate_up_proj"):
                nn.init.normal_(module.gate_up_proj, std=std)
                nn.init.normal_(module.down_proj, std=std)

    # ---- forward --------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_logits: bool = False,
    ) -> ModelOutput:
        """``input_ids`` ``[B, T]``; ``segment_ids`` ``[B, T]`` document index per token (None: one doc)."""
        if segment_ids is None:
            segment_ids = torch.zeros_like(input_ids, dtype=torch.int32)
        ctx = build_attention_context(
            segment_ids, self.inv_freq, self.attn_impl, (self.cfg.qk_head_dim, self.cfg.v_head_dim)
        )
        x = self.embed_tokens(input_ids)
        aux_total = x.new_zeros((), dtype=torch.float32)
        counts = []
        for layer in self.layers:
            if self.activation_checkpointing and self.training:
                x, aux, c = checkpoint(layer, x, ctx, use_reentrant=False)
            else:
                x, aux, c = layer(x, ctx)
            aux_total = aux_total + aux
            if layer.is_moe:
                counts.append(c)
        h = self.norm(x)
        logits = loss = None
        if labels is not None and not return_logits and self.loss_chunk_tokens > 0:
            # Never holds the [tokens, vocab] fp32 logits: chunks, recomputed in backward.
            loss = chunked_cross_entropy(h, self.lm_head.weight, labels, self.loss_chunk_tokens)
        else:
            logits = self.lm_head(h)
            if labels is not None:
                loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        expert_counts = torch.stack(counts) if counts else torch.zeros(0, 0, dtype=torch.int64)
        return ModelOutput(loss, aux_total, expert_counts, logits if (return_logits or labels is None) else None)

    # ---- bookkeeping ----------------------------------------------------------------------------
    def routers(self) -> list[Router]:
        return [layer.mlp.gate for layer in self.layers if layer.is_moe]


def count_parameters(model: nn.Module, cfg: ModelConfig) -> tuple[int, int]:
    """(total, active per token). Active drops the routed experts a token does not use."""
    total = sum(p.numel() for p in model.parameters())
    per_expert = 3 * cfg.hidden_size * cfg.moe_intermediate_size
    inactive = cfg.num_moe_layers * (cfg.n_routed_experts - cfg.num_experts_per_tok) * per_expert
    return total, total - inactive


def build_model(
    cfg: ModelConfig,
    device: str | torch.device = "cpu",
    seed: int | None = 0,
    attn_impl: AttnImpl = "auto",
    expert_impl: ExpertImpl = "auto",
    activation_checkpointing: bool = False,
    loss_chunk_tokens: int = 2048,
) -> AXK1ForCausalLM:
    """Build on ``device``; on ``meta`` nothing is allocated and weights stay uninitialised."""
    with torch.device(device):
        model = AXK1ForCausalLM(cfg, attn_impl, expert_impl, activation_checkpointing, loss_chunk_tokens)
    if torch.device(device).type != "meta":
        model.init_weights(seed)
    return model
