"""The image pipeline: loaded lazily once per process and (model, device), called in batches
with one seeded generator per request so a seed gives the same image alone or in a batch."""

from __future__ import annotations

import inspect
import math
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from fediverse.imaging import request
from fediverse.imaging.defaults import ModelDefaults, defaults_for
from fediverse.imaging.errors import InvalidRequest
from fediverse.imaging.options import DEFAULT_OPTIONS, ImageOptions
from fediverse.imaging.request import Settings

if TYPE_CHECKING:
    from PIL.Image import Image

    from fediverse.imaging.loading import Builder

SAMPLER_NAMES = {
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DDIMScheduler": "DDIM",
    "LCMScheduler": "LCM",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "PNDMScheduler": "PLMS",
}
_CUDA_NAME = re.compile(r"cuda(:\d+)?")
EMBEDDINGS_CACHED = 64  # prompt embeddings kept per pipeline (77x1024 floats each for sd-turbo)


def resolve_device(name: str) -> str:
    """auto → cuda if available, else mps, else cpu; cpu, cuda, cuda:N and mps pass through."""
    name = name.strip().lower()
    if name == "auto":
        import torch

        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if name in ("cpu", "mps") or _CUDA_NAME.fullmatch(name):
        return name
    raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")


class ImagePipeline:
    """One diffusers pipeline on one device; loads on first use; one call at a time.
    `build` makes the pipeline in code instead of loading `model` (named as `model`)."""

    def __init__(self, model: str, device: str, options: ImageOptions = DEFAULT_OPTIONS,
                 build: Builder | None = None) -> None:
        self.model = model
        self.device = device
        self.options = options
        self._build = build
        self.defaults: ModelDefaults = defaults_for(model)
        self._pipe: Any = None
        self._img2img: Any = None
        self._lock = threading.RLock()
        self._embeddings: OrderedDict[str, Any] = OrderedDict()  # text -> its embedding

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    def load(self) -> Any:
        """The text-to-image pipeline, loaded now if not yet (raises ModelUnavailable)."""
        with self._lock:
            if self._pipe is None:
                from fediverse.imaging.loading import load_pipeline

                self._pipe = load_pipeline(self.model, self.device, self.options,
                                           self._build)
            return self._pipe

    @property
    def sampler(self) -> str:
        """The scheduler's name as image tools print it (loads the model)."""
        name = type(self.load().scheduler).__name__
        return SAMPLER_NAMES.get(name, name)

    def settings(self, *, steps: int | None = None, width: int | None = None,
                 height: int | None = None, guidance: float | None = None) -> Settings:
        """Check what was asked, then fill what was not from the model's defaults (the table
        first, then the loaded pipeline's own)."""
        self._check(steps, width, height, guidance)
        known = self.defaults
        steps = steps or known.steps
        width, height = width or known.width, height or known.height
        if guidance is None:
            guidance = known.guidance
        if steps is None or width is None or height is None or guidance is None:
            pipe_steps, pipe_guidance, pipe_side = self._pipeline_defaults()
            steps = steps or min(pipe_steps, request.MAX_STEPS)
            width, height = width or pipe_side, height or pipe_side
            guidance = pipe_guidance if guidance is None else guidance
        return Settings(steps=steps, width=width, height=height, guidance=guidance)

    def generate(self, prompts: list[str], *, seeds: list[int], steps: int | None = None,
                 width: int | None = None, height: int | None = None,
                 negative_prompts: list[str] | None = None, guidance: float | None = None,
                 progress: bool = False) -> list[Image]:
        """Text to image: one picture per prompt, all in one pipeline call."""
        request.check_prompts(prompts, negative_prompts, seeds)
        chosen = self.settings(steps=steps, width=width, height=height, guidance=guidance)
        with self._lock:
            pipe = self.load()
            pipe.set_progress_bar_config(disable=not progress)
            with inference_mode():
                arguments = self._arguments(prompts, seeds, negative_prompts, chosen.guidance)
                result = pipe(**arguments, num_inference_steps=chosen.steps,
                              width=chosen.width, height=chosen.height, output_type="pt")
                return pictures(result.images)

    def image_to_image(self, images: list[Image], prompts: list[str], *, seeds: list[int],
                       strength: float = 0.5, steps: int | None = None,
                       negative_prompts: list[str] | None = None, guidance: float | None = None,
                       progress: bool = False) -> list[Image]:
        """Image to image from the same weights; int(steps * strength) steps are run."""
        request.check_prompts(prompts, negative_prompts, seeds)
        if len(images) != len(prompts):
            raise InvalidRequest("need exactly one image per prompt")
        for image in images:
            self._check(None, image.width, image.height, None)
        request.check_strength(strength)
        chosen = self.settings(steps=steps, guidance=guidance)
        run_steps = chosen.steps
        if steps is None:  # enough steps that at least one runs at this strength
            run_steps = min(request.MAX_STEPS, max(run_steps, math.ceil(1 / strength)))
        if int(run_steps * strength) < 1:
            raise InvalidRequest("steps times strength must be at least 1")
        with self._lock:
            pipe = self._image_pipe()
            pipe.set_progress_bar_config(disable=not progress)
            with inference_mode():
                arguments = self._arguments(prompts, seeds, negative_prompts, chosen.guidance)
                result = pipe(**arguments, image=[image.convert("RGB") for image in images],
                              strength=strength, num_inference_steps=run_steps,
                              output_type="pt")
                return pictures(result.images)

    def _image_pipe(self) -> Any:
        """The image-to-image pipeline sharing the text-to-image pipeline's components."""
        if self._img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self._img2img = AutoPipelineForImage2Image.from_pipe(self.load())
        return self._img2img

    def _check(self, steps: int | None, width: int | None, height: int | None,
               guidance: float | None) -> None:
        if steps is not None:
            request.check_steps(steps)
        if width is not None:
            request.check_side(width, "width", self.defaults.max_side)
        if height is not None:
            request.check_side(height, "height", self.defaults.max_side)
        if guidance is not None:
            request.check_guidance(guidance)

    def _pipeline_defaults(self) -> tuple[int, float | None, int]:
        """Steps, guidance and side the loaded pipeline uses when not told."""
        pipe = self.load()
        parameters = inspect.signature(pipe.__call__).parameters
        pipe_steps = parameters["num_inference_steps"].default
        scale = parameters.get("guidance_scale")
        pipe_guidance = scale.default if scale is not None else None
        denoiser = getattr(pipe, "unet", None)
        side = getattr(getattr(denoiser, "config", None), "sample_size", None) \
            or getattr(pipe, "default_sample_size", 64)
        return int(pipe_steps), pipe_guidance, int(side) * int(pipe.vae_scale_factor)

    def _arguments(self, prompts: list[str], seeds: list[int],
                   negative_prompts: list[str] | None, guidance: float | None) -> dict[str, Any]:
        """Keyword arguments shared by both kinds of call: prompts (as embeddings where the
        pipeline takes them), generators, guidance."""
        import torch

        # Generators on the CPU: the starting noise for a seed is the same on every device.
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        arguments: dict[str, Any] = {"generator": generators}
        negatives = list(negative_prompts) if negative_prompts is not None \
            and any(negative_prompts) else None
        if self._embeds_prompts():
            arguments["prompt_embeds"] = torch.cat([self._embedding(p) for p in prompts])
            if guidance is not None and guidance > 1:  # classifier-free guidance: "" if none
                arguments["negative_prompt_embeds"] = torch.cat(
                    [self._embedding(n) for n in negatives or [""] * len(prompts)])
        else:
            arguments["prompt"] = list(prompts)
            if negatives is not None:
                arguments["negative_prompt"] = negatives
        if guidance is not None:
            arguments["guidance_scale"] = guidance
        return arguments

    def _embeds_prompts(self) -> bool:
        """Whether the pipeline is Stable Diffusion's (1.x, 2.x, sd-turbo), whose prompt
        embedding is one tensor per text that can be computed ahead and cached."""
        from diffusers import StableDiffusionPipeline

        return isinstance(self.load(), StableDiffusionPipeline)

    def _embedding(self, text: str) -> Any:
        """The text encoder's output for one text, alone (so that it does not depend on what
        else is in the batch), from a small LRU cache: a repeated prompt skips the encoder."""
        cached = self._embeddings.get(text)
        if cached is not None:
            self._embeddings.move_to_end(text)
            return cached
        pipe = self.load()
        embedding, _ = pipe.encode_prompt(text, pipe._execution_device, 1, False)
        self._embeddings[text] = embedding
        while len(self._embeddings) > EMBEDDINGS_CACHED:
            self._embeddings.popitem(last=False)
        return embedding


def pictures(images: Any) -> list[Image]:
    """Pipeline output as pictures. A tensor (values 0 to 1, batch first) becomes 8-bit on
    its own device, as diffusers' own PIL output rounds it, so only bytes cross to the host."""
    import torch
    from PIL import Image as PILImage

    if not isinstance(images, torch.Tensor):
        return list(images)
    array = images.float().mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [PILImage.fromarray(item[..., 0] if item.shape[-1] == 1 else item) for item in array]


def inference_mode() -> Any:
    """No autograd bookkeeping at all (a little faster than the pipelines' own no_grad)."""
    import torch

    return torch.inference_mode()


_PIPELINES: dict[tuple[str, str, ImageOptions], ImagePipeline] = {}
_PIPELINES_LOCK = threading.Lock()


def get_pipeline(model: str, device: str, options: ImageOptions | None = None) -> ImagePipeline:
    """The process's pipeline for (model, device, options), created on first use (loaded
    later)."""
    device = resolve_device(device)
    options = options or DEFAULT_OPTIONS
    with _PIPELINES_LOCK:
        key = (model, device, options)
        if key not in _PIPELINES:
            _PIPELINES[key] = ImagePipeline(model, device, options)
        return _PIPELINES[key]


def install_pipeline(pipeline: ImagePipeline) -> None:
    """Make get_pipeline answer with `pipeline` for its model, device and options (for
    pipelines built in code under a name of their own, as the generation benchmark's)."""
    with _PIPELINES_LOCK:
        _PIPELINES[(pipeline.model, pipeline.device, pipeline.options)] = pipeline
