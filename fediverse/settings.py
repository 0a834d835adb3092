"""Settings: read once from the environment (prefix FEDIVERSE_), overridden by command-line flags,
validated with one clear line per mistake."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fediverse.imaging.options import ImageOptions

DEFAULT_DOMAIN = "localhost:8000"
DEFAULT_MODEL = "stabilityai/sd-turbo"

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# environment variable -> Settings field
ENV = {
    "FEDIVERSE_DOMAIN": "domain",
    "FEDIVERSE_DATA_DIR": "data_dir",
    "FEDIVERSE_DATABASE_URL": "database_url",
    "FEDIVERSE_IMAGE_MODEL": "image_model",
    "FEDIVERSE_DEVICE": "device",
    "FEDIVERSE_IMAGE_DTYPE": "image_dtype",
    "FEDIVERSE_IMAGE_VAE": "image_vae",
    "FEDIVERSE_IMAGE_COMPILE": "image_compile",
    "FEDIVERSE_INSECURE_HTTP": "insecure_http",
    "FEDIVERSE_ALLOW_PRIVATE_NETWORKS": "allow_private_networks",
    "FEDIVERSE_AUTHORIZED_FETCH": "authorized_fetch",
    "FEDIVERSE_OPEN_REGISTRATIONS": "open_registrations",
    "FEDIVERSE_PASSWORD_GRANT": "password_grant",
    # the instance's texts, as HTML: given here, or in a file read at each request
    "FEDIVERSE_EXTENDED_DESCRIPTION": "extended_description",
    "FEDIVERSE_EXTENDED_DESCRIPTION_FILE": "extended_description_file",
    "FEDIVERSE_PRIVACY_POLICY": "privacy_policy",
    "FEDIVERSE_PRIVACY_POLICY_FILE": "privacy_policy_file",
    "FEDIVERSE_TERMS_OF_SERVICE": "terms_of_service",
    "FEDIVERSE_TERMS_OF_SERVICE_FILE": "terms_of_service_file",
    "FEDIVERSE_CACHE_REMOTE_MEDIA": "cache_remote_media",
    # image generation limits (0: no limit)
    "FEDIVERSE_GENERATION_QUEUE_LIMIT": "generation_queue_limit",
    "FEDIVERSE_GENERATION_ACCOUNT_PENDING": "generation_account_pending",
    "FEDIVERSE_GENERATION_ACCOUNT_HOURLY": "generation_account_hourly",
    "FEDIVERSE_GENERATION_ACTOR_PENDING": "generation_actor_pending",
    "FEDIVERSE_GENERATION_ACTOR_HOURLY": "generation_actor_hourly",
    "FEDIVERSE_GENERATION_DOMAIN_PENDING": "generation_domain_pending",
    "FEDIVERSE_GENERATION_DOMAIN_HOURLY": "generation_domain_hourly",
}
_BOOLEANS = {"insecure_http", "allow_private_networks", "authorized_fetch", "open_registrations",
             "password_grant", "image_compile", "cache_remote_media"}
_INTEGERS = {name for var, name in ENV.items() if var.startswith("FEDIVERSE_GENERATION_")}


class SettingsError(Exception):
    """One or more settings are wrong; each line of `problems` says which and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    domain: str = DEFAULT_DOMAIN
    data_dir: Path = Path("./data")
    database_url: str = ""
    image_model: str = DEFAULT_MODEL
    device: str = "auto"
    image_dtype: str = "auto"  # auto, float32, bfloat16, float16
    image_vae: str = "full"  # full, tiny, or an AutoencoderTiny's Hugging Face id or folder
    image_compile: bool = False  # torch.compile the denoiser (first picture waits for it)
    insecure_http: bool | None = None
    allow_private_networks: bool = False
    authorized_fetch: bool = False
    open_registrations: bool = False
    password_grant: bool = True  # OAuth `grant_type=password` (toot's login_cli uses it)
    # the instance's texts (`fediverse.api.instance_texts`): HTML, or a file of it (wins)
    extended_description: str = ""
    extended_description_file: str = ""
    privacy_policy: str = ""  # empty: a short generic policy
    privacy_policy_file: str = ""
    terms_of_service: str = ""  # empty: none (404)
    terms_of_service_file: str = ""
    cache_remote_media: bool = True  # copy remote posts' images here (`fediverse.media.remote`)
    # unfinished image jobs in all, and per asker: unfinished, and asked in the last hour
    generation_queue_limit: int = 100
    generation_account_pending: int = 4  # a local account
    generation_account_hourly: int = 60
    generation_actor_pending: int = 2  # a remote actor
    generation_actor_hourly: int = 20
    generation_domain_pending: int = 8  # all actors of one remote server
    generation_domain_hourly: int = 100
    software_version: str = field(default="0.1.0", compare=False)

    @property
    def image_options(self) -> ImageOptions:
        """Precision and autoencoder for the image pipeline."""
        from fediverse.imaging.options import ImageOptions

        return ImageOptions(dtype=self.image_dtype, vae=self.image_vae,
                            compile=self.image_compile)

    @property
    def host(self) -> str:
        """The domain without its port."""
        return self.domain.rsplit(":", 1)[0] if ":" in self.domain else self.domain

    @property
    def http_allowed(self) -> bool:
        if self.insecure_http is not None:
            return self.insecure_http
        return self.host == "localhost"

    @property
    def scheme(self) -> str:
        return "http" if self.http_allowed else "https"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'fediverse.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


def _parse_bool(name: str, raw: str, problems: list[str]) -> bool | None:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    problems.append(f"{name}: expected 1 or 0, got {raw!r}")
    return None


def _parse_count(name: str, raw: str, problems: list[str]) -> int | None:
    value = raw.strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    problems.append(f"{name}: expected a whole number, 0 or more (0: no limit), got {raw!r}")
    return None


def load(env: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None) -> Settings:
    """Build settings from `env` (default os.environ), then `overrides` (flags; None means unset).

    Raises SettingsError listing every problem found in the values themselves; checks that need
    the outside world (database reachable, data dir writable) are in `check_environment`.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    values: dict[str, object] = {}
    for var, name in ENV.items():
        if var in env:
            raw = env[var]
            if name in _BOOLEANS:
                values[name] = _parse_bool(var, raw, problems)
            elif name in _INTEGERS:
                values[name] = _parse_count(var, raw, problems)
            else:
                values[name] = raw
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    if "data_dir" in values:
        values["data_dir"] = Path(str(values["data_dir"])).expanduser()
    settings = replace(Settings(), **{k: v for k, v in values.items() if v is not None})
    problems.extend(validate(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def validate(settings: Settings) -> list[str]:
    """Problems with the values themselves, one line each."""
    problems = []
    if not _DOMAIN_RE.match(settings.domain):
        problems.append(
            f"FEDIVERSE_DOMAIN: {settings.domain!r} is not a lower-case host name (with an optional :port)"
        )
    if not _DEVICE_RE.match(settings.device):
        problems.append(
            f"FEDIVERSE_DEVICE: unknown device {settings.device!r} (use auto, cpu, cuda, cuda:N or mps)"
        )
    if not settings.image_model.strip():
        problems.append("FEDIVERSE_IMAGE_MODEL: must not be empty")
    from fediverse.imaging.options import dtype_problem, vae_problem

    if problem := dtype_problem(settings.image_dtype):
        problems.append(f"FEDIVERSE_IMAGE_DTYPE: {problem}")
    if problem := vae_problem(settings.image_vae):
        problems.append(f"FEDIVERSE_IMAGE_VAE: {problem}")
    url = settings.database_url
    if url and not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", url):
        problems.append(
            f"FEDIVERSE_DATABASE_URL: unsupported URL {url.split('://')[0]!r}:// (use sqlite:/// or postgresql://)"
        )
    return problems


def check_data_dir(settings: Settings) -> str | None:
    """Make the data dir (and media dir) if needed; a problem line if it is not writable."""
    try:
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"FEDIVERSE_DATA_DIR: {settings.data_dir} is not writable ({exc.strerror or exc})"
    return None
