"""The exceptions of the protocol library.

    ActivityPubError
     ├── FetchError            a remote document could not be had
     │    ├── BlockedAddress   the host resolves to a refused address
     │    ├── FetchTimeout
     │    ├── TooLarge
     │    ├── BadResponse      wrong status, content type, id or shape
     │    └── Gone             the remote answered 410
     ├── SignatureError        signing could not be done (bad key, bad input)
     └── DocumentError         a document is malformed (bad JSON-LD, missing field)

Each carries a message that is safe to show to the other side; the cause is chained.
Verification never raises for a bad signature: it returns a result with a reason.
"""


class ActivityPubError(Exception):
    """Base of every error raised by `activitypub`."""


class FetchError(ActivityPubError):
    """A remote document could not be fetched."""


class BlockedAddress(FetchError):
    """The URL points at a loopback, private, link-local or multicast address."""


class FetchTimeout(FetchError):
    """The remote did not answer in time."""


class TooLarge(FetchError):
    """The response body is larger than allowed."""


class BadResponse(FetchError):
    """The response has the wrong status, content type, id or shape; `status` is the HTTP
    status when that was what was wrong."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Gone(FetchError):
    """The remote answered 410 Gone."""


class SignatureError(ActivityPubError):
    """A signature could not be made."""


class DocumentError(ActivityPubError):
    """A document is malformed."""
