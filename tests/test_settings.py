from __future__ import annotations

from pathlib import Path

import pytest

from travel_assistant.settings import SettingsError, load_settings

AZURE = {"AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt-5-mini",
         "AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_azure_endpoint_becomes_the_v1_base_url_and_no_key_means_entra_id() -> None:
    model = load_settings(AZURE).model
    assert model.provider == "azure"
    assert model.base_url == "https://contoso.openai.azure.com/openai/v1/"
    assert model.api_key is None
    assert model.model == "gpt-5-mini"
    assert model.api == "responses"


def test_missing_model_names_the_settings_and_how_to_fix_them() -> None:
    settings = load_settings({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    with pytest.raises(SettingsError) as err:
        _ = settings.model
    assert "AZURE_OPENAI_ENDPOINT" in str(err.value) and "OPENAI_API_KEY" in str(err.value)
    # other sections still work
    assert settings.storage.connection_string == "UseDevelopmentStorage=true"


def test_azure_endpoint_without_deployment_is_reported() -> None:
    env = dict(AZURE)
    del env["AZURE_OPENAI_DEPLOYMENT"]
    with pytest.raises(SettingsError, match="AZURE_OPENAI_DEPLOYMENT is not set"):
        _ = load_settings(env).model


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("TURN_DEADLINE_SECONDS", "abc", "is not a whole number"),
    ("TURN_DEADLINE_SECONDS", "5", "out of range"),
    ("POLL_MAX_DELAY_SECONDS", "0", "out of range"),
])
def test_invalid_numbers_are_named(name: str, value: str, expected: str) -> None:
    settings = load_settings({**AZURE, name: value})
    with pytest.raises(SettingsError, match=f"{name}.*{expected}"):
        _ = settings.turn


def test_unknown_model_api_and_plain_http_endpoint_are_rejected() -> None:
    settings = load_settings({**AZURE, "MODEL_API": "chat", "AZURE_OPENAI_ENDPOINT": "http://contoso.example"})
    with pytest.raises(SettingsError) as err:
        _ = settings.model
    assert "MODEL_API='chat'" in str(err.value)
    assert "not a valid https URL" in str(err.value)


def test_secret_values_are_collected_for_redaction() -> None:
    settings = load_settings({**AZURE, "AZURE_OPENAI_API_KEY": "azure-key-123456",
                              "HOTPEPPER_API_KEY": "hp-key-abcdef"})
    assert set(settings.secret_values()) == {"azure-key-123456", "hp-key-abcdef"}
    assert "azure-key-123456" not in repr(settings.model)


def test_tool_endpoints_default_to_the_real_https_apis_and_a_ca_bundle_must_exist(tmp_path: Path) -> None:
    tools = load_settings({}).tools
    assert tools.hotpepper_endpoint == "https://webservice.recruit.co.jp/hotpepper/gourmet/v1/"
    assert tools.rakuten_endpoint == "https://openapi.rakuten.co.jp/engine/api/Travel/VacantHotelSearch/20170426"
    assert tools.ekispert_endpoint == "https://api.ekispert.jp"
    assert tools.http_ca_bundle is None
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_settings({"TOOL_HTTP_CA_BUNDLE": str(bundle)}).tools.http_ca_bundle == str(bundle)
    with pytest.raises(SettingsError, match="TOOL_HTTP_CA_BUNDLE"):
        _ = load_settings({"TOOL_HTTP_CA_BUNDLE": str(tmp_path / "missing.pem")}).tools
