"""Loading a diffusers pipeline: the built-in `tiny`, a local folder, or a Hugging Face id
(the local cache first, then a download unless the hub is offline)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from fediverse.imaging.defaults import TINY
from fediverse.imaging.errors import ModelUnavailable

TRUTHY = {"1", "true", "yes", "on"}
HUB_TIMEOUT = 10.0


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set now (read each time: the hub reads it only on import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUTHY


def dtype_for(device: str) -> Any:
    """Half precision on accelerators, float32 on the CPU."""
    import torch

    return torch.float32 if device == "cpu" else torch.float16


def load_pipeline(model: str, device: str) -> Any:
    """The text-to-image pipeline for `model`, on `device`, ready to call."""
    import torch

    dtype = dtype_for(device)
    if model == TINY:
        from fediverse.imaging.tiny import build_pipeline

        pipe = build_pipeline()
        if dtype is not torch.float32:
            pipe = pipe.to(dtype=dtype)
    else:
        pipe = load_pretrained(model, dtype)
    pipe = pipe.to(device)
    if device.startswith("cuda"):
        use_sdpa(pipe)
    if getattr(pipe, "safety_checker", None) is not None:
        pipe.safety_checker = None
    return pipe


def load_pretrained(model: str, dtype: Any) -> Any:
    """From a local folder, or from the hub's cache, then from the hub itself."""
    local = Path(model).expanduser().is_dir() or model.startswith((".", "/", "~"))
    if local and not Path(model).expanduser().is_dir():
        raise ModelUnavailable(f"no model folder at {model}")
    try:
        return from_pretrained(model, dtype, local_files_only=not local)
    except Exception as error:
        if local:
            raise ModelUnavailable(f"cannot load model folder {model}: {one_line(error)}") \
                from error
        if hub_offline():
            raise ModelUnavailable(
                f"model {model} is not in the local cache and HF_HUB_OFFLINE is set") from error
    check_on_hub(model)
    try:
        return from_pretrained(model, dtype)
    except Exception as error:
        raise ModelUnavailable(f"cannot load model {model}: {one_line(error)}") from error


def from_pretrained(model: str, dtype: Any, **options: Any) -> Any:
    from diffusers import AutoPipelineForText2Image

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
        return AutoPipelineForText2Image.from_pretrained(
            model, torch_dtype=dtype, safety_checker=None, **options)


def check_on_hub(model: str) -> None:
    """One quick request before downloading, so that an unreachable hub or a wrong id fails
    in seconds with a clear reason instead of after the downloader's retries."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().model_info(model, timeout=HUB_TIMEOUT)
    except GatedRepoError as error:
        raise ModelUnavailable(f"model {model} is gated: accept its licence and log in") \
            from error
    except RepositoryNotFoundError as error:
        raise ModelUnavailable(f"no model {model} on the Hugging Face hub") from error
    except Exception as error:
        raise ModelUnavailable(
            f"model {model} is not cached and the hub cannot be reached: {one_line(error)}") \
            from error


def use_sdpa(pipe: Any) -> None:
    """PyTorch's scaled-dot-product attention in the denoiser (diffusers' fast default)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    denoiser = getattr(pipe, "unet", None)
    if denoiser is not None and hasattr(denoiser, "set_attn_processor"):
        denoiser.set_attn_processor(AttnProcessor2_0())


def one_line(error: BaseException) -> str:
    """The first non-blank line of an error message, shortened."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()[:300]
    return type(error).__name__
