from __future__ import annotations

import re
from pathlib import Path

import pytest

from travel_assistant.settings import SettingsError, cleanup_schedule, load_settings

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
    assert settings.storage.connection.connection_string == "UseDevelopmentStorage=true"


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


def test_cleanup_defaults() -> None:
    cleanup = load_settings({}).cleanup
    assert (cleanup.schedule, cleanup.thread_retention_days, cleanup.batch_size, cleanup.max_batches,
            cleanup.max_concurrency, cleanup.time_budget_s, cleanup.purge_window_hours, cleanup.purge_max_windows,
            cleanup.purge_lookback_days) == ("0 0 18 * * *", 30, 200, 20, 8, 180, 6, 40, 90)
    assert load_settings(AZURE).storage.cleanup_state_table == "TravelCleanupState"


@pytest.mark.parametrize("schedule", ["0 0 18 * * *", "0 */5 * * * *", "0 30 9 * * MON-FRI", "0 0 0 1 JAN,jul *",
                                      "0 0 3-5/2 * * 0,6", "*/30 * * * * *"])
def test_valid_ncrontab_schedules_are_kept(schedule: str) -> None:
    assert load_settings({"CLEANUP_SCHEDULE": schedule}).cleanup.schedule == schedule
    assert cleanup_schedule({"CLEANUP_SCHEDULE": schedule}) == schedule


@pytest.mark.parametrize(("schedule", "expected"), [
    ("0 18 * * *", "has 5 fields, not 6"),  # a five-field Unix cron line
    ("0 0 24 * * *", "hour field '24' is invalid"),
    ("60 0 18 * * *", "second field '60' is invalid"),
    ("0 0 18 0 * *", "day field '0' is invalid"),
    ("0 0 18 * 13 *", "month field '13' is invalid"),
    ("0 0 18 * * 7", "day-of-week field '7' is invalid"),
    ("0 0 18 * * FUN", "day-of-week field 'FUN' is invalid"),
    ("0 */0 * * * *", "a step must be at least 1"),
    ("0 0 5-3 * * *", "runs backwards"),
    ("0 0 18 * * ?", "is not *, a value"),
])
def test_invalid_ncrontab_schedules_are_named_and_the_timer_keeps_the_default(schedule: str, expected: str) -> None:
    settings = load_settings({"CLEANUP_SCHEDULE": schedule})
    with pytest.raises(SettingsError, match=f"CLEANUP_SCHEDULE=.*{re.escape(expected)}"):
        _ = settings.cleanup
    assert cleanup_schedule({"CLEANUP_SCHEDULE": schedule}) == "0 0 18 * * *"


def test_timer_schedule_without_the_setting_is_the_daily_default() -> None:
    assert cleanup_schedule({}) == "0 0 18 * * *"
    assert cleanup_schedule({"CLEANUP_SCHEDULE": "  "}) == "0 0 18 * * *"


@pytest.mark.parametrize(("name", "value"), [
    ("CLEANUP_MAX_BATCHES", "0"), ("CLEANUP_TIME_BUDGET_SECONDS", "5"), ("CLEANUP_PURGE_WINDOW_HOURS", "169"),
    ("CLEANUP_PURGE_MAX_WINDOWS", "x"), ("CLEANUP_PURGE_LOOKBACK_DAYS", "0"), ("THREAD_RETENTION_DAYS", "0"),
])
def test_invalid_cleanup_numbers_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        _ = load_settings({name: value}).cleanup


def test_pydantic_stays_out_of_the_cold_start() -> None:
    """Settings sections and tool argument models load on first use: importing the app loads neither them nor
    pydantic-settings (benchmarks/cold_start.py measures what the import costs). pydantic itself is loaded: HTTP
    streaming needs the FastAPI extension's types, and FastAPI is built on pydantic."""
    import subprocess
    import sys

    probe = ("import sys, function_app; print(sorted(m for m in ('pydantic_settings', "
             "'travel_assistant.settings_sections', 'travel_assistant.tools.arguments') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
