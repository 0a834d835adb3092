"""The `poll[...]` parameters of a new or edited status, checked against the limits the
instance publishes (`models.polls`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fediverse.api.errors import unprocessable
from fediverse.api.params import Params
from models import polls


@dataclass(frozen=True)
class PollForm:
    options: list[str]
    expires_in: int  # seconds
    multiple: bool = False
    hide_totals: bool = False

    def poll(self, now: datetime | None = None) -> polls.Poll:
        """A new poll's JSON (`statuses.poll`), no votes yet."""
        ends = (now or datetime.now(UTC)) + timedelta(seconds=self.expires_in)
        return polls.new_poll(self.options, expires_at=ends, multiple=self.multiple,
                              hide_totals=self.hide_totals)


def poll_form(p: Params) -> PollForm | None:
    """The poll asked for, None when none; 422 when it breaks a limit."""
    options = [str(o).strip() for o in p.getlist("poll[options]")]
    if not any(options) and p.get("poll[expires_in]") in (None, ""):
        return None  # no poll, or only its empty fields
    if len(options) < 2:
        raise unprocessable("Validation failed: Poll must have at least 2 options")
    if len(options) > polls.MAX_OPTIONS:
        raise unprocessable(
            f"Validation failed: Poll can't contain more than {polls.MAX_OPTIONS} options")
    if any(not o for o in options):
        raise unprocessable("Validation failed: Poll options can't be blank")
    if any(len(o) > polls.MAX_OPTION_CHARS for o in options):
        raise unprocessable("Validation failed: Poll options can't be longer than "
                            f"{polls.MAX_OPTION_CHARS} characters")
    if len(set(options)) != len(options):
        raise unprocessable("Validation failed: Poll contains duplicate options")
    expires_in = p.integer("poll[expires_in]")
    if expires_in is None or expires_in < polls.MIN_EXPIRATION:
        raise unprocessable("Validation failed: Poll duration is too short")
    if expires_in > polls.MAX_EXPIRATION:
        raise unprocessable("Validation failed: Poll duration is too long")
    return PollForm(options=options, expires_in=expires_in,
                    multiple=bool(p.boolean("poll[multiple]")),
                    hide_totals=bool(p.boolean("poll[hide_totals]")))
