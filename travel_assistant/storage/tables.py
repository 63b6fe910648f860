"""Table storage access: one client per table per process, created on first use, and one error type for
"storage is unreachable or failing" so callers can answer 503 instead of crashing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient

from .connection import TableConnection
from .errors import StorageUnavailable

P = ParamSpec("P")
R = TypeVar("R")


# Short timeouts and few retries: these calls sit on the HTTP path, where a caller prefers a quick 503 to a request
# that hangs for a minute while the SDK backs off.
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 2, "retry_backoff_factor": 0.2, "connection_timeout": 5,
                                   "read_timeout": 10}


def credential_for(connection: TableConnection) -> TokenCredential:
    """The Entra ID credential of an identity-based connection, as the Functions host picks it."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if connection.managed_identity:
        return ManagedIdentityCredential(client_id=connection.client_id) if connection.client_id \
            else ManagedIdentityCredential()
    return DefaultAzureCredential()


@functools.lru_cache(maxsize=4)
def _service(connection: TableConnection) -> TableServiceClient:
    """One service client per storage account and process, so every table shares its connection pool (and an
    identity its token cache)."""
    if connection.connection_string is not None:
        return TableServiceClient.from_connection_string(connection.connection_string, **_CLIENT_OPTIONS)
    if connection.endpoint is None:
        raise ValueError("a TableConnection needs a connection string or an endpoint")
    return TableServiceClient(connection.endpoint, credential=credential_for(connection), **_CLIENT_OPTIONS)


def open_table(connection: TableConnection | str, table_name: str) -> TableClient:
    """A TableClient for ``table_name`` (a connection string is accepted too), creating the table if needed."""
    if isinstance(connection, str):
        connection = TableConnection(connection_string=connection)
    service = _service(connection)
    try:
        service.create_table_if_not_exists(table_name)
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailable(f"table storage is unreachable ({type(exc).__name__})") from None
    except ClientAuthenticationError as exc:
        # No token (no identity here, or the identity endpoint failed), or the token was refused (no role on the
        # account): the message names which, without secrets.
        raise StorageUnavailable(f"table storage refused the app's identity ({type(exc).__name__})") from None
    return service.get_table_client(table_name)


def translate_storage_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn transport failures and server errors into StorageUnavailable; let 404/409/412 through for the
    caller to handle (they are answers, not failures)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ResourceNotFoundError, ResourceExistsError):
            raise
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise StorageUnavailable(f"table storage is unreachable ({type(exc).__name__})") from None
        except ClientAuthenticationError as exc:
            raise StorageUnavailable(f"table storage refused the app's identity ({type(exc).__name__})") from None
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                raise
            raise StorageUnavailable(f"table storage failed with HTTP {exc.status_code}") from None

    return wrapper

