"""Table storage access: one client per table per process, created on first use, and one error type for
"storage is unreachable or failing" so callers can answer 503 instead of crashing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient

from .errors import StorageUnavailable

P = ParamSpec("P")
R = TypeVar("R")


@functools.lru_cache(maxsize=4)
def _service(connection_string: str) -> TableServiceClient:
    """One service client per storage account and process, so every table shares its connection pool.

    Short timeouts and few retries: these calls sit on the HTTP path, where a caller prefers a quick 503 to a
    request that hangs for a minute while the SDK backs off.
    """
    return TableServiceClient.from_connection_string(
        connection_string, retry_total=2, retry_backoff_factor=0.2, connection_timeout=5, read_timeout=10)


def open_table(connection_string: str, table_name: str) -> TableClient:
    """A TableClient for ``table_name``, creating the table if needed."""
    service = _service(connection_string)
    try:
        service.create_table_if_not_exists(table_name)
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise StorageUnavailable(f"table storage is unreachable ({type(exc).__name__})") from None
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
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                raise
            raise StorageUnavailable(f"table storage failed with HTTP {exc.status_code}") from None

    return wrapper

