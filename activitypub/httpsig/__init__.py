"""HTTP Signatures, both standards: draft-cavage-12 and RFC 9421, signing and verifying.

sign_cavage / sign_rfc9421   -> a new header dict carrying the signature
HTTPSignatureAuth            -> the same as an httpx auth flow
verify_request               -> a Verification (ok, reason, key_id, owner, scheme)
"""

from activitypub.httpsig.auth import HTTPSignatureAuth
from activitypub.httpsig.cavage import sign_cavage
from activitypub.httpsig.rfc9421 import sign_rfc9421
from activitypub.httpsig.verify import Verification, verify_request

__all__ = ["HTTPSignatureAuth", "Verification", "sign_cavage", "sign_rfc9421", "verify_request"]
