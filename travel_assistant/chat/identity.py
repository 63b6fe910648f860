"""Who is calling. Behind App Service authentication (EasyAuth) the platform sets X-MS-CLIENT-PRINCIPAL-ID and
strips any copy sent by the caller; without it, every caller is the same local user (fine for `func start`,
and REQUIRE_AUTHENTICATED_USER=true turns it off for deployments)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..constants import HEADER_PRINCIPAL_ID, LOCAL_USER
from ..errors import AppError, ErrorCode

_PRINCIPAL = re.compile(r"[A-Za-z0-9._@:-]{1,128}")  # fullmatch: "$" would accept a trailing newline


@dataclass(frozen=True)
class Caller:
    owner_key: str  # a hash: safe as a Table PartitionKey, and no identity is stored in clear
    authenticated: bool


def owner_key_for(principal_id: str) -> str:
    return hashlib.sha256(principal_id.encode("utf-8")).hexdigest()[:32]


def identify(principal_header: str | None, *, require_principal: bool) -> Caller:
    if principal_header:
        if not _PRINCIPAL.fullmatch(principal_header):
            raise AppError(ErrorCode.UNAUTHENTICATED, f"The {HEADER_PRINCIPAL_ID} header is malformed.",
                           http_status=401)
        return Caller(owner_key_for("principal:" + principal_header), authenticated=True)
    if require_principal:
        raise AppError(ErrorCode.UNAUTHENTICATED, "Sign in first: this app requires App Service authentication.",
                       http_status=401)
    return Caller(owner_key_for(LOCAL_USER), authenticated=False)
