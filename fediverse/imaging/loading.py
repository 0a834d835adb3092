"""Loading a diffusers pipeline: the built-in `tiny`, a local folder, or a Hugging Face id
(the local cache first, then a download unless the hub is offline)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fediverse.imaging.defaults import TINY
from fediverse.imaging.errors import ModelUnavailable
from fediverse.imaging.options import (
    DEFAULT_OPTIONS,
    TAESD,
    TAESDXL,
    TINY_VAE,
    ImageOptions,
    dtype_problem,
)

Builder = Callable[[], Any]  # makes a diffusers pipeline in code
Loader = Callable[..., Any]  # (id or folder, dtype, **from_pretrained options) -> loaded

TRUTHY = {"1", "true", "yes", "on"}
HUB_TIMEOUT = 10.0
PROGRESS_EVERY = 5.0  # seconds between download progress lines
log = logging.getLogger(__name__)


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set now (read each time: the hub reads it only on import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUTHY


def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU does bfloat16 arithmetic natively (AVX512-BF16 or AMX); without it
    PyTorch emulates bfloat16 and float32 is faster."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def dtype_for(device: str, name: str = "auto") -> Any:
    """The torch dtype for a precision setting: `auto` is half precision on accelerators, on
    the CPU bfloat16 where it is native, else float32."""
    import torch

    if name == "auto":
        if device != "cpu":
            return torch.float16
        return torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32
    if dtype_problem(name):
        raise ValueError(dtype_problem(name))
    return getattr(torch, name)


def load_pipeline(model: str, device: str, options: ImageOptions = DEFAULT_OPTIONS,
                  build: Builder | None = None) -> Any:
    """The text-to-image pipeline for `model`, on `device`, ready to call. `build` makes a
    pipeline in code instead of loading one (as for `tiny`)."""
    dtype = dtype_for(device, options.dtype)
    if build is None and model == TINY:
        from fediverse.imaging.tiny import build_pipeline

        build = build_pipeline
    if build is not None:
        with quiet_libraries():  # importing diffusers' pipelines warns, as loading one does
            pipe = build()
    else:
        pipe = load_pretrained(model, dtype)
    if options.tiny_vae:
        pipe.vae = tiny_autoencoder(pipe, options.vae, dtype, built=build is not None,
                                    small=model == TINY)
    cast(pipe, dtype)
    pipe = pipe.to(device)
    if device.startswith("cuda"):
        use_sdpa(pipe)
    if device == "cpu" and options.tiny_vae:
        channels_last(pipe.vae)
    if options.compile:
        compile_denoiser(pipe, device)
    if device == "cpu":
        one_picture_at_a_time(pipe)
    if getattr(pipe, "safety_checker", None) is not None:
        pipe.safety_checker = None
    return pipe


def tiny_autoencoder(pipe: Any, name: str, dtype: Any, *, built: bool, small: bool) -> Any:
    """The AutoencoderTiny to decode (and encode) with: TAESD for the model's family (random
    weights of the same shape for a pipeline built in code), or the one `name` points at."""
    if name == TINY_VAE:
        if built:
            from fediverse.imaging.tiny import build_autoencoder

            return build_autoencoder(small=small)
        if getattr(pipe.vae.config, "latent_channels", 4) != 4:
            raise ModelUnavailable(
                "no tiny autoencoder is known for this model's latents: set "
                "FEDIVERSE_IMAGE_VAE to a Hugging Face id or folder of an AutoencoderTiny")
        name = TAESDXL if "XL" in type(pipe).__name__ else TAESD
    return load_pretrained(name, dtype, loader=autoencoder_from_pretrained)


def channels_last(module: Any) -> None:
    """NHWC weights: oneDNN's convolutions skip a reorder each call (about a third off the tiny
    autoencoder's decode on an AVX2 CPU; nothing gained on the UNet, so it is left alone)."""
    import torch

    module.to(memory_format=torch.channels_last)


def compile_denoiser(pipe: Any, device: str) -> None:
    """torch.compile the UNet: compiled on its first call (minutes on a small CPU), again once
    for a new image size (on CUDA: or batch size; the CPU runs one picture at a time), then
    with dynamic shapes. On the CPU inductor freezes the weights: convolutions and linear
    layers get oneDNN's prepacked weights and fused bias and activation (about 8% off a
    full-size UNet step on an AVX2 CPU; docs/BENCHMARKS.md)."""
    import torch

    if device == "cpu":
        import torch._inductor.config as inductor

        inductor.freezing = True  # process-wide: weights are constants once compiled
    pipe.unet = torch.compile(pipe.unet)


def one_picture_at_a_time(pipe: Any) -> None:
    """The denoiser and the autoencoder run once per picture of a batch (and per half of a
    guided pair), so that a seed gives the same pixels in a batch as alone: on the CPU some
    kernels sum in another order for another batch size (bfloat16 GroupNorm on channels-last
    input; others in a full-size UNet; float32 too, rarely, on an AVX512 CPU). The price is
    throughput when requests wait together: each picture costs what it costs alone (on a
    2-core AVX512 CPU, full-size at 4 and 16 concurrent requests, about half the images per
    second of whole batches); a lone request is the same call as before."""
    denoiser = getattr(pipe, "unet", None)
    if denoiser is not None:
        denoiser.forward = per_sample(denoiser.forward)  # compiled: once, for batch 1
    autoencoder = getattr(pipe, "vae", None)
    if autoencoder is not None and hasattr(autoencoder, "enable_slicing"):
        autoencoder.enable_slicing()  # diffusers' own: encodes and decodes one at a time


def per_sample(forward: Callable[..., Any]) -> Callable[..., Any]:
    """`forward` called once per sample of the batch of its first argument (or `sample`), the
    outputs joined: tensor arguments of that batch size (in keyword dicts too) are split."""
    import torch

    def split(value: Any, index: int, count: int) -> Any:
        if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == count:
            return value[index:index + 1]
        if isinstance(value, dict):
            return {key: split(item, index, count) for key, item in value.items()}
        return value

    def join(outputs: list[Any]) -> Any:
        first = outputs[0]
        if isinstance(first, torch.Tensor) and first.ndim:
            return torch.cat(outputs)
        if isinstance(first, dict):  # diffusers' output classes are ordered dicts
            return type(first)(**{key: join([output[key] for output in outputs])
                                  for key in first})
        if isinstance(first, tuple):
            return tuple(join(list(items)) for items in zip(*outputs, strict=True))
        return first

    def run(*args: Any, **kwargs: Any) -> Any:
        count = (args[0] if args else kwargs["sample"]).shape[0]
        if count == 1:
            return forward(*args, **kwargs)
        return join([forward(*(split(argument, index, count) for argument in args),
                             **split(kwargs, index, count)) for index in range(count)])

    return run


def cast(pipe: Any, dtype: Any) -> None:
    """Every model of the pipeline in `dtype` (those loaded in it already are left alone)."""
    import torch

    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module) and any(
                parameter.dtype != dtype for parameter in component.parameters()):
            torch.nn.Module.to(component, dtype=dtype)  # diffusers' own to() warns needlessly


def load_pretrained(model: str, dtype: Any, loader: Loader | None = None) -> Any:
    """From a local folder, or from the hub's cache, then from the hub itself (its progress
    logged while it downloads); anything else raises ModelUnavailable with a one-line
    reason."""
    loader = loader or from_pretrained
    local = Path(model).expanduser().is_dir() or model.startswith((".", "/", "~"))
    if local and not Path(model).expanduser().is_dir():
        raise ModelUnavailable(f"no model folder at {model}")
    try:
        with quiet_libraries():
            return loader(model, dtype, local_files_only=not local)
    except Exception as error:
        if local:
            raise ModelUnavailable(f"cannot load model folder {model}: {one_line(error)}") \
                from error
        if hub_offline():
            raise ModelUnavailable(
                f"model {model} is not in the local cache and HF_HUB_OFFLINE is set") from error
    sizes = check_on_hub(model)
    try:
        with quiet_libraries(), DownloadProgress(model, sizes):
            return loader(model, dtype)
    except Exception as error:
        raise ModelUnavailable(
            f"cannot download model {model} from {hub_name()}: {one_line(error)}") from error


def from_pretrained(model: str, dtype: Any, **options: Any) -> Any:
    from diffusers import AutoPipelineForText2Image

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
        return AutoPipelineForText2Image.from_pretrained(
            model, torch_dtype=dtype, safety_checker=None, **options)


def autoencoder_from_pretrained(name: str, dtype: Any, **options: Any) -> Any:
    from diffusers import AutoencoderTiny

    return AutoencoderTiny.from_pretrained(name, torch_dtype=dtype, **options)


def check_on_hub(model: str) -> dict[str, int]:
    """One quick request before downloading, so that an unreachable hub or a wrong id fails
    in seconds with a clear reason instead of after the downloader's retries. The size of
    each of the model's files by the name the cache stores it under (its ETag)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(model, timeout=HUB_TIMEOUT, files_metadata=True)
    except GatedRepoError as error:
        raise ModelUnavailable(f"model {model} is gated: accept its licence and log in") \
            from error
    except RepositoryNotFoundError as error:
        raise ModelUnavailable(f"no model {model} on {hub_name()}") from error
    except Exception as error:
        raise ModelUnavailable(
            f"model {model} is not cached and {hub_name()} cannot be reached: "
            f"{one_line(error)}") from error
    sizes = {}
    for sibling in info.siblings or []:
        if sibling.size is not None:
            for name in (sibling.blob_id, sibling.lfs.sha256 if sibling.lfs else None):
                if name:
                    sizes[name] = sibling.size
    return sizes


def hub_name() -> str:
    """The hub as messages name it: its address where HF_ENDPOINT points elsewhere."""
    from huggingface_hub import constants

    default = "https://huggingface.co"
    endpoint = constants.ENDPOINT.rstrip("/")
    return "the Hugging Face hub" + ("" if endpoint == default else f" at {endpoint}")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """While a model loads, the hub's, diffusers' and transformers' own warnings are held
    back (process-wide, for that while), and so are their progress bars off a terminal (in
    a server's log, a pipe): this module's lines report progress, a failure's reason is one
    line. On a terminal the bars show."""
    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub import utils as hub_utils
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as transformers_logging

    levels = [(library, library.get_verbosity())
              for library in (hub_logging, diffusers_logging, transformers_logging)]
    bars = [] if sys.stderr.isatty() else [
        (library, library.is_progress_bar_enabled())
        for library in (diffusers_logging, transformers_logging)]
    hub_bars = not sys.stderr.isatty() and not hub_utils.are_progress_bars_disabled()
    for library, _ in levels:
        library.set_verbosity(logging.ERROR)
    for library, _ in bars:
        library.disable_progress_bar()
    if hub_bars:
        hub_utils.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for library, level in levels:
            library.set_verbosity(level)
        for library, enabled in bars:
            if enabled:
                library.enable_progress_bar()
        if hub_bars:
            hub_utils.enable_progress_bars()


class DownloadProgress:
    """While a model downloads, a line every PROGRESS_EVERY seconds on what has arrived in
    the hub's cache ("downloading org/name: 40% (12.0 of 30.1 MB)"), and one when done. The
    total counts the files being fetched (the hub fetches several at once, so it is soon
    the whole); their sizes come from the hub's file list (`sizes`, by ETag)."""

    def __init__(self, model: str, sizes: dict[str, int]) -> None:
        from huggingface_hub import constants

        self.model = model
        self.sizes = sizes
        self.blobs = Path(constants.HF_HUB_CACHE) / ("models--" + model.replace("/", "--")) \
            / "blobs"
        self.before = {name for name in self._names() if not name.endswith(".incomplete")}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-download", daemon=True)
        self._started = time.monotonic()
        self._last: tuple[int, int] | None = None

    def __enter__(self) -> DownloadProgress:
        self._thread.start()
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._stop.set()
        self._thread.join()
        total = self.measure()[1]
        if error is None and total:
            log.info("downloaded %s: %s in %.1f s", self.model, megabytes(total),
                     time.monotonic() - self._started)

    def _names(self) -> list[str]:
        try:
            return [entry.name for entry in os.scandir(self.blobs)]
        except OSError:
            return []

    def measure(self) -> tuple[int, int, bool]:
        """Bytes arrived, bytes expected, and whether a file is still coming, over the files
        not complete in the cache when the download began (a partial one resumes)."""
        arrived: dict[str, int] = {}  # by ETag: <etag>, <etag>.incomplete, <etag>.<id>.incomplete
        coming = False
        for name in self._names():
            if name in self.before:
                continue
            try:
                size = (self.blobs / name).stat().st_size
            except OSError:  # renamed meanwhile: counted at the next look
                continue
            coming = coming or name.endswith(".incomplete")
            etag = name.split(".", 1)[0]
            arrived[etag] = max(size, arrived.get(etag, 0))
        done = sum(arrived.values())
        total = sum(max(size, self.sizes.get(etag, size)) for etag, size in arrived.items())
        return done, total, coming

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_EVERY):
            done, total, coming = self.measure()
            if total and (coming or (done, total) != self._last):
                log.info("downloading %s: %d%% (%s)", self.model, 100 * done // total,
                         f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
                self._last = (done, total)


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


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
