"""A small random-weight Stable Diffusion pipeline built in code: no download, same weights
in every process (a fixed seed), noise-like pictures in well under a second on a CPU."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diffusers import StableDiffusionPipeline

WEIGHT_SEED = 20240601
MAX_TOKENS = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def byte_alphabet() -> list[str]:
    """The 256 printable characters that byte-level BPE uses to stand for the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte] = chr(256 + extra)
            extra += 1
    return [chars[byte] for byte in range(256)]


def build_tokenizer() -> Any:
    """A CLIP tokenizer whose vocabulary is one token per byte (no merges), made from files
    written to a temporary folder, so nothing is fetched."""
    from transformers import CLIPTokenizer

    alphabet = byte_alphabet()
    tokens = [BOS, EOS, *alphabet, *(char + "</w>" for char in alphabet)]
    vocab = {token: index for index, token in enumerate(tokens)}
    config = {"model_max_length": MAX_TOKENS, "bos_token": BOS, "eos_token": EOS,
              "unk_token": EOS, "pad_token": EOS}
    with tempfile.TemporaryDirectory(prefix="fediverse-tiny-") as folder:
        root = Path(folder)
        (root / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (root / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
        (root / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
        return CLIPTokenizer.from_pretrained(folder, local_files_only=True)


def build_components() -> dict[str, Any]:
    """The pipeline's parts with weights drawn from a fixed seed (the global RNG is restored)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = build_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(WEIGHT_SEED)
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
            block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=16,
            attention_head_dim=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        )
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
            block_out_channels=(8, 8, 8, 8), norm_num_groups=4,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
        )
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=MAX_TOKENS,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        timestep_spacing="trailing", steps_offset=1,
    )
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler, "safety_checker": None, "feature_extractor": None,
            "image_encoder": None}


def build_pipeline() -> StableDiffusionPipeline:
    """The tiny text-to-image pipeline on the CPU in float32."""
    from diffusers import StableDiffusionPipeline

    components = build_components()
    pipe = StableDiffusionPipeline(**components, requires_safety_checker=False)
    pipe.text_encoder.eval()
    return pipe


def build_autoencoder(*, small: bool = True) -> Any:
    """A tiny autoencoder (diffusers' AutoencoderTiny, TAESD's design) with weights drawn from
    a fixed seed: narrow for the `tiny` model, TAESD's own width for full-size pipelines built
    in code."""
    import torch
    from diffusers import AutoencoderTiny

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(WEIGHT_SEED + 1)
        if not small:
            return AutoencoderTiny()
        return AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8),
                               decoder_block_out_channels=(8, 8, 8, 8),
                               num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1))
