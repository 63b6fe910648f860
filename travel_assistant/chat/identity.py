"""Who is calling.

App Service authentication (EasyAuth) sets X-MS-CLIENT-PRINCIPAL-ID (and -NAME, -IDP, X-MS-CLIENT-PRINCIPAL) on
every request it lets through and strips any copy the caller sent. Without it nothing strips them: anyone holding
the function key could send another user's id. So the headers are trusted only when the platform says
authentication is on (WEBSITE_AUTH_ENABLED=True, set by App Service) or TRUST_PRINCIPAL_HEADERS=true says a proxy
we trust sets them (docs/security.md). Otherwise a request that carries them is refused (400
untrusted_principal), not silently served as the anonymous caller: its sender expects to act as that user, and
would otherwise see (and write into) the shared anonymous user's threads.

Without a principal every caller is one shared local user (fine for `func start`); REQUIRE_AUTHENTICATED_USER
refuses such requests instead, and is on by default whenever the principal headers are trusted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..constants import HEADER_PRINCIPAL_ID, LOCAL_USER, PRINCIPAL_HEADERS
from ..errors import AppError, ErrorCode

_PRINCIPAL = re.compile(r"[A-Za-z0-9._@:-]{1,128}")  # fullmatch: "$" would accept a trailing newline


@dataclass(frozen=True)
class Caller:
    owner_key: str  # a hash: safe as a Table PartitionKey, and no identity is stored in clear
    authenticated: bool


def owner_key_for(principal_id: str) -> str:
    return hashlib.sha256(principal_id.encode("utf-8")).hexdigest()[:32]


def identify(headers: Mapping[str, str], *, trust_principal_headers: bool, require_principal: bool) -> Caller:
    """The caller of a request whose ``headers`` have lower-cased names."""
    if not trust_principal_headers:
        sent = [name for name in PRINCIPAL_HEADERS if name.lower() in headers]
        if sent:
            raise AppError(
                ErrorCode.UNTRUSTED_PRINCIPAL,
                f"This app does not accept the {', '.join(sent)} header: App Service authentication is off "
                "(WEBSITE_AUTH_ENABLED) and TRUST_PRINCIPAL_HEADERS is not true, so nothing vouches for it. "
                "Send the request without it, or turn on authentication.", http_status=400)
    principal = headers.get(HEADER_PRINCIPAL_ID.lower()) if trust_principal_headers else None
    if principal:
        if not _PRINCIPAL.fullmatch(principal):
            raise AppError(ErrorCode.UNAUTHENTICATED, f"The {HEADER_PRINCIPAL_ID} header is malformed.",
                           http_status=401)
        return Caller(owner_key_for("principal:" + principal), authenticated=True)
    if require_principal:
        raise AppError(ErrorCode.UNAUTHENTICATED, "Sign in first: this app requires App Service authentication.",
                       http_status=401)
    return Caller(owner_key_for(LOCAL_USER), authenticated=False)
