"""A case-insensitive, read-only view of HTTP header fields that may repeat."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

HeaderInput: TypeAlias = (
    Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]
)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


class HeaderView:
    """Header fields by lower-cased name, keeping every instance in order."""

    __slots__ = ("_fields",)

    def __init__(self, headers: HeaderInput) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        fields: dict[str, list[str]] = {}
        for name, value in pairs:
            if name.__class__ is not str or value.__class__ is not str:
                name, value = _text(name), _text(value)
            found = fields.get(key := name.lower())
            if found is None:
                fields[key] = [value]
            else:
                found.append(value)
        self._fields = fields

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._fields

    def values(self, name: str) -> list[str]:
        """Every instance of the field, in order ([] when absent)."""
        return self._fields.get(name.lower(), [])

    def combined(self, name: str) -> str | None:
        """All instances trimmed and joined with ", " (RFC 9110 5.3), or None when absent."""
        found = self._fields.get(name.lower())
        if found is None:
            return None
        if len(found) == 1:
            return found[0].strip()
        return ", ".join(value.strip() for value in found)
