"""What each known model wants by default: steps, guidance, size and the largest side."""

from __future__ import annotations

from dataclasses import dataclass

TINY = "tiny"


@dataclass(frozen=True)
class ModelDefaults:
    """Defaults for one model; None means "ask the loaded pipeline"."""

    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    max_side: int = 2048


TURBO = ModelDefaults(steps=1, guidance=0.0, width=512, height=512, max_side=1024)

KNOWN: dict[str, ModelDefaults] = {
    TINY: ModelDefaults(steps=2, guidance=0.0, width=64, height=64, max_side=256),
    "stabilityai/sd-turbo": TURBO,
    "stabilityai/sdxl-turbo": TURBO,
}


def defaults_for(model: str) -> ModelDefaults:
    """The table's entry for a model id, or for a local folder named like a known model."""
    key = model.strip().rstrip("/").lower()
    if key in KNOWN:
        return KNOWN[key]
    for known, defaults in KNOWN.items():
        if "/" in known and key.rsplit("/", 1)[-1] == known.rsplit("/", 1)[-1]:
            return defaults
    return ModelDefaults()
