"""NodeInfo documents against the required fields of the 2.0 and 2.1 schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest

from activitypub.errors import DocumentError
from activitypub.nodeinfo import (
    CONTENT_TYPE_20,
    CONTENT_TYPE_21,
    content_type,
    document,
    schema_url,
    well_known,
)

# The schemas' rules, written out: required keys, and the keys allowed where the schema
# says additionalProperties: false.
PROTOCOLS = {"activitypub", "buddycloud", "dfrn", "diaspora", "libertree", "ostatus", "pumpio",
             "tent", "xmpp", "zot"}
TOP_KEYS = {"version", "software", "protocols", "services", "openRegistrations", "usage",
            "metadata"}
SOFTWARE_KEYS = {"2.0": {"name", "version"}, "2.1": {"name", "version", "repository", "homepage"}}


def check_schema(doc: dict[str, Any], version: str) -> None:
    assert set(doc) == TOP_KEYS
    assert doc["version"] == version
    software = doc["software"]
    assert {"name", "version"} <= set(software) <= SOFTWARE_KEYS[version]
    assert re.fullmatch(r"[a-z0-9-]+", software["name"])
    assert isinstance(software["version"], str)
    assert isinstance(doc["protocols"], list) and len(doc["protocols"]) >= 1
    assert set(doc["protocols"]) <= PROTOCOLS
    assert set(doc["services"]) == {"inbound", "outbound"}
    assert all(isinstance(doc["services"][k], list) for k in ("inbound", "outbound"))
    assert isinstance(doc["openRegistrations"], bool)
    usage = doc["usage"]
    assert "users" in usage and set(usage) <= {"users", "localPosts", "localComments"}
    assert set(usage["users"]) <= {"total", "activeHalfyear", "activeMonth"}
    assert all(isinstance(n, int) and n >= 0 for n in usage["users"].values())
    assert isinstance(usage["localPosts"], int) and usage["localPosts"] >= 0
    assert isinstance(doc["metadata"], dict)


def make(version: str) -> dict[str, Any]:
    return document(version, software_name="fediverse", software_version="0.1.0",
                    repository="https://example.com/fediverse.git",
                    homepage="https://example.com/", users_total=10, users_active_month=4,
                    users_active_halfyear=7, local_posts=123, open_registrations=False,
                    metadata={"nodeName": "Test"})


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_document_follows_schema(version: str) -> None:
    doc = make(version)
    check_schema(doc, version)
    assert doc["protocols"] == ["activitypub"]
    assert doc["usage"]["users"] == {"total": 10, "activeMonth": 4, "activeHalfyear": 7}
    assert doc["usage"]["localPosts"] == 123
    assert doc["metadata"] == {"nodeName": "Test"}


def test_repository_and_homepage_only_in_21() -> None:
    assert make("2.0")["software"] == {"name": "fediverse", "version": "0.1.0"}
    assert make("2.1")["software"] == {"name": "fediverse", "version": "0.1.0",
                                       "repository": "https://example.com/fediverse.git",
                                       "homepage": "https://example.com/"}


def test_refuses_bad_input() -> None:
    with pytest.raises(DocumentError):
        make("1.0")
    with pytest.raises(DocumentError):
        document("2.1", software_name="Fediverse!", software_version="1", users_total=0,
                 users_active_month=0, users_active_halfyear=0, local_posts=0,
                 open_registrations=True, metadata={})


def test_well_known_and_content_types() -> None:
    assert well_known("https://example.com/") == {"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
         "href": "https://example.com/nodeinfo/2.0"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
         "href": "https://example.com/nodeinfo/2.1"},
    ]}
    assert content_type("2.0") == CONTENT_TYPE_20
    assert content_type("2.1") == CONTENT_TYPE_21
    assert CONTENT_TYPE_21 == f'application/json; profile="{schema_url("2.1")}#"'
