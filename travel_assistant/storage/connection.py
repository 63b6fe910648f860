"""How the app reaches its own tables: the same storage account and settings as the Functions host
(AzureWebJobsStorage), in either of the forms the host documents.

- A connection string in ``AzureWebJobsStorage`` (``UseDevelopmentStorage=true`` with Azurite locally).
- An identity-based connection, as Azure deploys apps by default now (shared keys disabled): settings under the
  ``AzureWebJobsStorage__`` prefix. ``__tableServiceUri`` names the Table endpoint, or ``__accountName`` derives
  it (https://{name}.table.core.windows.net). ``__credential=managedidentity`` with ``__clientId`` selects a
  user-assigned managed identity; otherwise DefaultAzureCredential (the app's system-assigned identity on Azure,
  the developer's sign-in locally).

As for the host, an exact ``AzureWebJobsStorage`` value wins over the prefixed settings.
No Azure SDK import here: settings validation runs on every cold start.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

PREFIX = "AzureWebJobsStorage"
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")  # Azure's rule for storage account names


@dataclass(frozen=True)
class TableConnection:
    """Either a connection string or a Table endpoint reached with an Entra ID token. Hashable: one service client
    per connection and process."""

    connection_string: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    managed_identity: bool = False  # __credential=managedidentity: ManagedIdentityCredential, not the default chain
    client_id: str | None = None  # a user-assigned managed identity

    def describe(self) -> str:
        """Which form is in use, without secrets (for the health route and errors)."""
        if self.connection_string is not None:
            return "connection_string"
        return "managed_identity" if self.managed_identity else "default_credential"


def read_table_connection(text: Callable[[str], str | None], problems: list[str]) -> TableConnection:
    """The connection from the settings ``text(name)`` returns (stripped, None when unset); problems are appended."""
    conn = text(PREFIX)
    if conn:
        return TableConnection(connection_string=conn)
    account = text(f"{PREFIX}__accountName")
    uri = text(f"{PREFIX}__tableServiceUri")
    if uri:
        parsed = urlparse(uri)
        if parsed.scheme != "https" or not parsed.netloc:
            problems.append(f"{PREFIX}__tableServiceUri={uri!r} is not an https URL: set it to the Table endpoint, "
                            "e.g. https://<account>.table.core.windows.net (tokens are sent only over https)")
            return TableConnection()
        endpoint = uri.rstrip("/")
    elif account:
        if not _ACCOUNT_NAME.fullmatch(account):
            problems.append(f"{PREFIX}__accountName={account!r} is not a storage account name: 3 to 24 lowercase "
                            "letters and digits")
            return TableConnection()
        endpoint = f"https://{account}.table.core.windows.net"
    else:
        problems.append(
            f"{PREFIX} is not set: set it to a storage connection string (UseDevelopmentStorage=true with Azurite "
            f"locally), or use an identity: {PREFIX}__accountName (or {PREFIX}__tableServiceUri), with "
            f"{PREFIX}__credential=managedidentity and {PREFIX}__clientId for a user-assigned identity")
        return TableConnection()
    credential = (text(f"{PREFIX}__credential") or "").lower()
    if credential not in ("", "managedidentity"):
        problems.append(f"{PREFIX}__credential={credential!r} is not supported: set it to managedidentity, or unset "
                        "it to use DefaultAzureCredential")
    client_id = text(f"{PREFIX}__clientId")
    if client_id and credential != "managedidentity":
        # The host reads __clientId alone as a service principal's (with __tenantId and __clientSecret): a secret
        # this app does not take. Say so rather than silently use another identity.
        problems.append(f"{PREFIX}__clientId is set without {PREFIX}__credential=managedidentity: set that too to "
                        "use this user-assigned managed identity")
    return TableConnection(endpoint=endpoint, managed_identity=credential == "managedidentity",
                           client_id=client_id if credential == "managedidentity" else None)
