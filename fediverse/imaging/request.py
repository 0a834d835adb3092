"""Checks on what a caller asks of the pipeline, before any model work is done."""

from __future__ import annotations

from dataclasses import dataclass

from fediverse.imaging.errors import InvalidRequest

MAX_PROMPT = 1000
MAX_STEPS = 50
MAX_GUIDANCE = 30.0
MAX_BATCH = 16
MIN_SIDE = 64
SIDE_MULTIPLE = 8
MAX_SEED = 2**64 - 1


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one pipeline call (defaults already filled in)."""

    steps: int
    width: int
    height: int
    guidance: float | None


def check_prompts(prompts: list[str], negative_prompts: list[str] | None,
                  seeds: list[int]) -> None:
    """Raise InvalidRequest unless prompts, negative prompts and seeds make a valid batch."""
    if not prompts:
        raise InvalidRequest("no prompt given")
    if len(prompts) > MAX_BATCH:
        raise InvalidRequest(f"at most {MAX_BATCH} prompts in one batch")
    if len(seeds) != len(prompts):
        raise InvalidRequest("need exactly one seed per prompt")
    if negative_prompts is not None and len(negative_prompts) != len(prompts):
        raise InvalidRequest("need exactly one negative prompt per prompt")
    for prompt in prompts:
        check_text(prompt, "prompt", required=True)
    for negative in negative_prompts or []:
        check_text(negative, "negative prompt", required=False)
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InvalidRequest(f"seed must be an integer from 0 to {MAX_SEED}")


def check_text(text: str, what: str, *, required: bool) -> None:
    """A prompt is a string of at most MAX_PROMPT characters, non-blank where required."""
    if not isinstance(text, str):
        raise InvalidRequest(f"{what} must be text")
    if required and not text.strip():
        raise InvalidRequest(f"{what} is empty")
    if len(text) > MAX_PROMPT:
        raise InvalidRequest(f"{what} is longer than {MAX_PROMPT} characters")


def check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InvalidRequest(f"steps must be an integer from 1 to {MAX_STEPS}")


def check_side(value: int, what: str, max_side: int) -> None:
    """A side is a multiple of 8 between MIN_SIDE and the model's largest side."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{what} must be an integer")
    if value % SIDE_MULTIPLE or not MIN_SIDE <= value <= max_side:
        raise InvalidRequest(
            f"{what} must be a multiple of {SIDE_MULTIPLE} from {MIN_SIDE} to {max_side}")


def check_guidance(guidance: float) -> None:
    if isinstance(guidance, bool) or not isinstance(guidance, int | float):
        raise InvalidRequest("guidance must be a number")
    if not 0.0 <= guidance <= MAX_GUIDANCE:
        raise InvalidRequest(f"guidance must be from 0 to {MAX_GUIDANCE:g}")


def check_strength(strength: float) -> None:
    """How far image-to-image may move from the given image: above 0, at most 1."""
    if isinstance(strength, bool) or not isinstance(strength, int | float):
        raise InvalidRequest("strength must be a number")
    if not 0.0 < strength <= 1.0:
        raise InvalidRequest("strength must be above 0 and at most 1")
