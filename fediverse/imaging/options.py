"""How the pipeline runs: its precision and which autoencoder turns latents into pixels.
Checked here without importing torch; resolved against the device in loading.py."""

from __future__ import annotations

from dataclasses import dataclass

DTYPES = ("auto", "float32", "bfloat16", "float16")
FULL_VAE, TINY_VAE = "full", "tiny"
# The tiny autoencoder (TAESD) trained for each family's latents, by Hugging Face id.
TAESD = "madebyollin/taesd"  # Stable Diffusion 1.x and 2.x, sd-turbo
TAESDXL = "madebyollin/taesdxl"  # SDXL, sdxl-turbo


@dataclass(frozen=True)
class ImageOptions:
    """`dtype`: auto (half precision on accelerators; on the CPU bfloat16 where it has native
    bfloat16 arithmetic, else float32), float32, bfloat16 or float16.
    `vae`: full (the model's own autoencoder), tiny (TAESD for the model's family; built with
    random weights for the built-in `tiny` model), or a Hugging Face id or local folder of an
    AutoencoderTiny.
    `compile`: the denoiser compiled by torch.compile on first use (inductor; on the CPU with
    frozen, prepacked weights): the first picture waits minutes for it, later ones are faster."""

    dtype: str = "auto"
    vae: str = FULL_VAE
    compile: bool = False

    def __post_init__(self) -> None:
        problem = dtype_problem(self.dtype) or vae_problem(self.vae)
        if problem:
            raise ValueError(problem)
        if not isinstance(self.compile, bool):
            raise ValueError(f"image compile must be true or false, not {self.compile!r}")

    @property
    def tiny_vae(self) -> bool:
        return self.vae != FULL_VAE


def dtype_problem(name: str) -> str | None:
    """A one-line reason when `name` is not a precision we offer, else None."""
    if name not in DTYPES:
        return f"unknown image dtype {name!r} (use {', '.join(DTYPES)})"
    return None


def vae_problem(name: str) -> str | None:
    """A one-line reason when `name` cannot name an autoencoder, else None."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        return f"unknown image autoencoder {name!r} (use full, tiny, a Hugging Face id or a folder)"
    return None


DEFAULT_OPTIONS = ImageOptions()
