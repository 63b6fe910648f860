"""The app's own tables over either form of AzureWebJobsStorage the Functions host documents: a connection string,
or an identity-based connection (AzureWebJobsStorage__accountName / __tableServiceUri, __credential, __clientId).

The identity form runs against a real Azurite with OAuth on (`--oauth basic`, HTTPS with a trustme certificate),
the token coming from a fake of App Service's managed identity endpoint through azure-identity's real
ManagedIdentityCredential and DefaultAzureCredential."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from devtools import azurite as azurite_tool
from devtools.harness.managed_identity import FakeManagedIdentityEndpoint
from travel_assistant import runtime
from travel_assistant.settings import SettingsError, load_settings
from travel_assistant.storage import StorageUnavailable, ThreadRecord, tables
from travel_assistant.storage.connection import TableConnection

# --- resolving the settings (no storage needed) -----------------------------------------------------------------


def connection(**env: str) -> TableConnection:
    return load_settings(env).storage.connection


def storage_problems(**env: str) -> str:
    with pytest.raises(SettingsError) as raised:
        _ = load_settings(env).storage
    return str(raised.value)


def test_a_connection_string_wins_over_identity_settings() -> None:
    found = connection(AzureWebJobsStorage="UseDevelopmentStorage=true", AzureWebJobsStorage__accountName="acct1")
    assert found == TableConnection(connection_string="UseDevelopmentStorage=true")
    assert found.describe() == "connection_string"
    assert "UseDevelopmentStorage" not in repr(found)  # a connection string may hold the account key


def test_account_name_derives_the_table_endpoint_and_uses_the_default_credential() -> None:
    assert connection(AzureWebJobsStorage__accountName="travelstore01") == TableConnection(
        endpoint="https://travelstore01.table.core.windows.net")
    assert connection(AzureWebJobsStorage__accountName="travelstore01").describe() == "default_credential"


def test_table_service_uri_wins_over_the_account_name() -> None:
    found = connection(AzureWebJobsStorage__accountName="travelstore01",
                       AzureWebJobsStorage__tableServiceUri="https://other.table.core.windows.net/")
    assert found.endpoint == "https://other.table.core.windows.net"


def test_a_user_assigned_identity_needs_credential_managedidentity() -> None:
    found = connection(AzureWebJobsStorage__accountName="travelstore01",
                       AzureWebJobsStorage__credential="managedidentity",
                       AzureWebJobsStorage__clientId="11111111-2222-3333-4444-555555555555")
    assert found.managed_identity and found.client_id == "11111111-2222-3333-4444-555555555555"
    assert found.describe() == "managed_identity"
    system = connection(AzureWebJobsStorage__accountName="travelstore01",
                        AzureWebJobsStorage__credential="ManagedIdentity")
    assert system.managed_identity and system.client_id is None
    assert "AzureWebJobsStorage__credential=managedidentity" in storage_problems(
        AzureWebJobsStorage__accountName="travelstore01", AzureWebJobsStorage__clientId="1111")


@pytest.mark.parametrize(("env", "named"), [
    ({}, "AzureWebJobsStorage__accountName"),
    ({"AzureWebJobsStorage__accountName": "Not_An_Account"}, "AzureWebJobsStorage__accountName"),
    ({"AzureWebJobsStorage__tableServiceUri": "http://acct.table.core.windows.net"}, "not an https URL"),
    ({"AzureWebJobsStorage__accountName": "acct1", "AzureWebJobsStorage__credential": "clientsecret"},
     "AzureWebJobsStorage__credential"),
])
def test_bad_storage_settings_name_the_setting(env: dict[str, str], named: str) -> None:
    assert named in storage_problems(**env)


# --- against Azurite --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OAuthAzurite:
    table_endpoint: str
    ca_bundle: Path


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    """Azurite with OAuth on: it accepts bearer tokens (checking issuer, audience, lifetime), over HTTPS only."""
    folder = tmp_path_factory.mktemp("azurite-oauth")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    proc = azurite_tool.start(extra_args=("--oauth", "basic", "--cert", str(folder / "cert.pem"),
                                          "--key", str(folder / "key.pem")))
    try:
        yield OAuthAzurite(f"https://127.0.0.1:{proc.table_port}/{azurite_tool.DEV_ACCOUNT}", folder / "ca.pem")
    finally:
        azurite_tool.stop(proc.pid)


@pytest.fixture
def identity_env(app_env: dict[str, str], oauth_azurite: OAuthAzurite,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeManagedIdentityEndpoint]:
    """The app's storage as an identity-based connection to the OAuth Azurite, on an 'App Service' with a managed
    identity endpoint."""
    monkeypatch.delenv("AzureWebJobsStorage")
    monkeypatch.setenv("AzureWebJobsStorage__tableServiceUri", oauth_azurite.table_endpoint)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth_azurite.ca_bundle))  # trust the test certificate
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    with FakeManagedIdentityEndpoint() as endpoint:
        for name, value in endpoint.env().items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        tables._service.cache_clear()  # each test gets its own credential (and token cache)
        yield endpoint
    runtime.reset()
    tables._service.cache_clear()


def round_trip() -> ThreadRecord:
    now = datetime.now(UTC)
    registry = runtime.thread_registry()
    registry.create(ThreadRecord(owner_key="owner1", thread_id="thr_" + "1" * 32, model_api="responses",
                                 created_at=now, last_active_at=now, title="identity"))
    found = registry.get("owner1", "thr_" + "1" * 32)
    assert found is not None
    return found


@pytest.mark.azurite
def test_connection_string_form_reaches_the_tables(app_env: dict[str, str]) -> None:
    assert runtime.settings().storage.connection.describe() == "connection_string"
    assert round_trip().title == "identity"


@pytest.mark.azurite
def test_user_assigned_managed_identity_reaches_the_tables(identity_env: FakeManagedIdentityEndpoint,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    monkeypatch.setenv("AzureWebJobsStorage__clientId", "11111111-2222-3333-4444-555555555555")
    runtime.reset()
    assert round_trip().title == "identity"
    assert identity_env.requests, "no token was asked for"
    assert {r.get("client_id") for r in identity_env.requests} == {"11111111-2222-3333-4444-555555555555"}
    assert {r["resource"] for r in identity_env.requests} == {"https://storage.azure.com"}


@pytest.mark.azurite
def test_default_credential_uses_the_apps_own_identity(identity_env: FakeManagedIdentityEndpoint) -> None:
    assert runtime.settings().storage.connection.describe() == "default_credential"
    assert round_trip().title == "identity"
    assert identity_env.requests and all("client_id" not in r for r in identity_env.requests)


@pytest.mark.azurite
def test_a_refused_identity_is_storage_unavailable_not_a_crash(identity_env: FakeManagedIdentityEndpoint,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")  # the identity endpoint refuses: no token
    runtime.reset()
    with pytest.raises(StorageUnavailable) as raised:
        runtime.thread_registry()
    assert "identity" in str(raised.value)
    assert json.dumps(identity_env.requests)  # the endpoint was asked


@pytest.mark.azurite
def test_azurite_checks_the_token(identity_env: FakeManagedIdentityEndpoint) -> None:
    """Proof that the identity tests above exercise real token checks: a token for another service is refused."""
    identity_env.audience = "https://vault.azure.net"
    with pytest.raises(StorageUnavailable):
        runtime.thread_registry()
