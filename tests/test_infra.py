"""The azd template (infra/, azure.yaml) against the app: it parses, checkov finds nothing, and the deployed app would
get every setting it reads, a role on every data plane it uses, and no secret in a plain setting or output.

No Bicep compiler and no Azure account here: the templates are read with pycep-parser and evaluated by
devtools/harness/bicep.py; values only Azure knows (endpoints, client IDs) are stood in by DEPLOY_TIME below. What
only a real `azd up` proves is listed in docs/deploy.md ("What was not verified").
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from devtools.harness.bicep import INFRA, DeployTime, Template, dotted, parse, role_assignments

ROOT = INFRA.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# ---- What the template must hold, and why ---------------------------------------------------------------------

# Built-in role definition IDs the app's identity needs, by the data plane it uses (and no others).
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": ("Storage Blob Data Owner", "app/rbac.bicep", "storageAccount"),
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": ("Storage Queue Data Contributor", "app/rbac.bicep", "storageAccount"),
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": ("Storage Table Data Contributor", "app/rbac.bicep", "storageAccount"),
    "3913510d-42f4-4e42-8a64-420c390055eb": ("Monitoring Metrics Publisher", "app/rbac.bicep", "appInsights"),
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": ("Cognitive Services OpenAI User", "app/openai-access.bicep", "account"),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User", "app/keyvault.bicep", "vault"),
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": ("Durable Task Data Contributor", "app/durable-task-scheduler.bicep",
                                             "scheduler"),
}

# Settings the app reads that the template leaves unset on purpose: the default is right in Azure, or the setting
# belongs to another provider or to local development.
LEFT_AT_DEFAULT = {
    "AzureWebJobsStorage": "a connection string; Azure gets the identity-based AzureWebJobsStorage__* settings",
    "AZURE_OPENAI_API_KEY": "Entra ID (Cognitive Services OpenAI User) instead of a key",
    "AZURE_OPENAI_API_VERSION": "Assistants API only; the template selects the Responses API (v1 endpoint)",
    "ASSISTANT_ID": "Assistants API only",
    "OPENAI_API_KEY": "the OpenAI provider; the template deploys Azure OpenAI",
    "OPENAI_BASE_URL": "the OpenAI provider",
    "OPENAI_MODEL": "the OpenAI provider",
    "MODEL_REQUEST_TIMEOUT_SECONDS": "default 30 s",
    "THREADS_TABLE": "default table name", "TURN_STEPS_TABLE": "default table name",
    "CLEANUP_STATE_TABLE": "default table name",
    "TURN_DEADLINE_SECONDS": "default", "MODEL_MAX_RETRIES": "default", "MAX_TOOL_ROUNDS": "default",
    "TOOL_MAX_ATTEMPTS": "default", "POLL_FIRST_DELAY_SECONDS": "default", "POLL_MAX_DELAY_SECONDS": "default",
    "EVENTS_CONNECTION_SECONDS": "default 120 s, well under the front end's 230 s limit; a shorter one costs more "
                                 "reconnects, a longer one gains nothing",
    "HOTPEPPER_ENDPOINT": "default is the production endpoint",
    "RAKUTEN_ENDPOINT": "default is the production endpoint",
    "EKISPERT_ENDPOINT": "default is the production endpoint", "TOOL_HTTP_TIMEOUT_SECONDS": "default",
    "TOOL_HTTP_CA_BUNDLE": "local only (the fakes' certificate, a TLS-inspecting proxy)",
    "CLEANUP_SCHEDULE": "default 18:00 UTC (03:00 JST)", "CLEANUP_BATCH_SIZE": "default",
    "CLEANUP_MAX_BATCHES": "default", "CLEANUP_MAX_CONCURRENCY": "default", "CLEANUP_TIME_BUDGET_SECONDS": "default",
    "CLEANUP_PURGE_WINDOW_HOURS": "default", "CLEANUP_PURGE_MAX_WINDOWS": "default",
    "CLEANUP_PURGE_LOOKBACK_DAYS": "default",
    "MODEL_WEBHOOK_SECRET": "exists only after the webhook is registered (docs/deploy.md): then a Key Vault "
                            "reference; until then the webhook route answers 404 and turns poll",
    "TRUST_PRINCIPAL_HEADERS": "default false: with sign-in on, App Service's WEBSITE_AUTH_ENABLED is what vouches "
                               "for the principal headers; the setting is for a proxy of your own",
}

# Settings the platform provides when it is relevant (never in the template).
PLATFORM = {
    "WEBSITE_AUTH_ENABLED": "App Service sets it to True while App Service authentication is on (authsettingsV2)",
    "WEBSITE_HOSTNAME": "App Service sets it to the app's default host name",
    "WEBSITE_SITE_NAME": "App Service sets it to the app's name",
    "FUNCTIONS_WORKER_RUNTIME": "Flex Consumption derives it from functionAppConfig.runtime (not an allowed setting)",
}

# Settings of local.settings.example.json that are neither the app's nor in the template, and why Azure needs none.
LOCAL_ONLY = {
    "PYTHON_ENABLE_INIT_INDEXING": "HTTP streaming (the FastAPI extension) needs it on Python 3.12 and older only "
                                   "(docs/runtime.md); the template deploys Python 3.13, whose worker needs no setting",
    "AzureWebJobsFeatureFlags": "EnableWorkerIndexing, the v2 programming model's indexing: on by default in the "
                                "Functions 4.x runtime Azure runs; the example keeps it for older Core Tools",
    "FUNCTIONS_WORKER_PROCESS_COUNT": "1, the default: the example states it (docs/operations-basics.md)",
}

# Settings in the template that the app does not read itself, and who does.
READ_BY_OTHERS = {
    "AzureWebJobsStorage__": "the Functions host, Durable (Azure Storage backend) and the timer trigger",
    "AZURE_CLIENT_ID": "azure-identity's DefaultAzureCredential, to pick the user-assigned identity",
    "APPLICATIONINSIGHTS_": "the Functions host's Application Insights integration",
    "PYTHON_THREADPOOL_THREAD_COUNT": "the Python worker's thread pool",
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "the Durable extension (storageProvider.connectionStringName)",
    "AzureFunctionsJobHost__": "the Functions host: overrides of host.json",
    "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET": "App Service authentication (clientSecretSettingName)",
}

# Stand-ins for values only Azure knows at deployment, so the app's settings can be loaded from the template.
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
DEPLOY_TIME = {
    "storageAccount.name": "stexample",
    "storageAccount.properties.primaryEndpoints.blob": "https://stexample.blob.core.windows.net/",
    "storageAccount.properties.primaryEndpoints.queue": "https://stexample.queue.core.windows.net/",
    "storageAccount.properties.primaryEndpoints.table": "https://stexample.table.core.windows.net/",
    "identity.outputs.clientId": CLIENT_ID,
    "appInsights.properties.ConnectionString":
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://japaneast-1.in.applicationinsights.azure.com/",
    "account.properties.endpoint": "https://oai-example.openai.azure.com/",
    "vault.name": "kv-example",
    "scheduler.properties.endpoint": "https://dts-example.japaneast.durabletask.io",
    "taskHub.name": "travelassistant",
}

SECRET_PARAMS = {
    "hotpepperApiKey": "HOTPEPPER_API_KEY", "rakutenApplicationId": "RAKUTEN_APPLICATION_ID",
    "rakutenAccessKey": "RAKUTEN_ACCESS_KEY", "ekispertApiKey": "EKISPERT_API_KEY",
    "authClientSecret": "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET",
}

BASE = {"environmentName": "dev", "location": "japaneast"}
SCENARIOS = {
    "defaults": {},
    "everything": {
        **{param: f"given-{param}-value-0123456789" for param in SECRET_PARAMS},
        "rakutenReferer": "https://travel.example.co.jp/", "rakutenAffiliateId": "affiliate-1",
        "authEnabled": True, "authClientId": "99999999-8888-7777-6666-555555555555",
        "durableBackend": "DurableTaskScheduler",
    },
    "existing model": {
        "existingOpenAiResourceId":
            "/subscriptions/0000/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/corp-ai",
        "openAiDeploymentName": "corp-gpt",
    },
}


def main_template(scenario: str) -> Template:
    return Template(INFRA / "main.bicep", {**BASE, **SCENARIOS[scenario]}, DEPLOY_TIME)


def site_params(scenario: str) -> dict[str, Any]:
    return main_template(scenario).module_template("api").module_params("site")


def app_settings(scenario: str) -> dict[str, Any]:
    return site_params(scenario)["appSettingsKeyValuePairs"]


# ---- Which settings the app reads: the settings module is the list ----------------------------------------------

class _RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name the settings loader asks for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _names_from_pydantic_models(module: Any) -> set[str]:
    """Env names of the module's pydantic-settings classes (field aliases, else env_prefix + field name)."""
    try:
        from pydantic import AliasChoices
        from pydantic_settings import BaseSettings
    except ImportError:
        return set()
    names: set[str] = set()
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings):
            continue
        prefix = value.model_config.get("env_prefix", "")
        for field_name, field in value.model_fields.items():
            alias = field.validation_alias or field.alias
            if isinstance(alias, AliasChoices):
                names.update(choice for choice in alias.choices if isinstance(choice, str))
            elif isinstance(alias, str):
                names.add(alias)
            else:
                names.add(prefix + field_name)
    return names


def _names_asked_by_the_loader(module: Any) -> set[str]:
    """Env names the loader asks for, over both model providers and both storage connection forms."""
    asked: set[str] = set()
    seeds = [{}, {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}, {"AzureWebJobsStorage": "x"},
             {"AzureWebJobsStorage__accountName": "x"}]
    for seed in seeds:
        env = _RecordingEnv(seed)
        module.load_settings(env)
        if hasattr(module, "cleanup_schedule"):
            module.cleanup_schedule(env)
        asked |= env.asked
    return asked


def _names_read_from_os_environ(package: Path) -> set[str]:
    """Literal names passed to os.environ.get / os.environ[...] / os.getenv anywhere in the package."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = None
            if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and dotted_name(node.func) in ("os.environ.get", "os.getenv", "environ.get")):
                target = node.args[0].value
            elif (isinstance(node, ast.Subscript) and dotted_name(node.value) in ("os.environ", "environ")
                    and isinstance(node.slice, ast.Constant)):
                target = node.slice.value
            if isinstance(target, str):
                names.add(target)
    return names


def dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted_name(node.value)}.{node.attr}"
    return ""


def settings_the_app_reads() -> set[str]:
    """Every setting name the app reads: ``setting_names()`` if the settings module offers one, else its
    pydantic-settings models, else what its loader asks for; plus literal os.environ reads in the package."""
    module = importlib.import_module("travel_assistant.settings")
    if callable(getattr(module, "setting_names", None)):
        names = set(module.setting_names())
    else:
        names = _names_from_pydantic_models(module) or _names_asked_by_the_loader(module)
    return names | _names_read_from_os_environ(ROOT / "travel_assistant")


def _covered_by(name: str, table: Mapping[str, str]) -> bool:
    return name in table or any(key.endswith("_") and name.startswith(key) for key in table)


# ---- The files parse, and checkov finds nothing ------------------------------------------------------------------

BICEP_FILES = sorted(INFRA.rglob("*.bicep"))


def test_the_template_has_its_files() -> None:
    assert (ROOT / "azure.yaml").is_file()
    assert {p.relative_to(INFRA).as_posix() for p in BICEP_FILES} >= {
        "main.bicep", "app/function.bicep", "app/rbac.bicep", "app/keyvault.bicep", "app/openai.bicep",
        "app/openai-access.bicep", "app/durable-task-scheduler.bicep"}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses_with_pycep(path: Path) -> None:
    tree = parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def run_checkov(directory: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run scripts/bootstrap.sh (it installs checkov into .venv-checkov)")
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "bicep", "arm", "--output", "json", "--compact",
         "--skip-download"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "LOG_LEVEL": "WARNING"})
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    merged: dict[str, Any] = {"passed": [], "failed": [], "skipped": [], "parsing_errors": 0, "resources": 0}
    for report in reports:
        results, summary = report.get("results", {}), report.get("summary", {})
        merged["passed"] += results.get("passed_checks", [])
        merged["failed"] += results.get("failed_checks", [])
        merged["skipped"] += results.get("skipped_checks", [])
        merged["parsing_errors"] += summary.get("parsing_errors", 0)
        merged["resources"] += summary.get("resource_count", 0)
    return merged


@pytest.fixture(scope="module")
def checkov_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One checkov run over the template and over a copy with a security setting removed (checkov is slow to
    start, so both are scanned at once)."""
    work = tmp_path_factory.mktemp("checkov")
    shutil.copytree(INFRA, work / "ours")
    broken = work / "broken"
    shutil.copytree(INFRA, broken)
    openai = broken / "app" / "openai.bicep"
    openai.write_text(openai.read_text().replace("disableLocalAuth: true", "disableLocalAuth: false"))
    report = run_checkov(work)
    split: dict[str, dict[str, Any]] = {}
    for copy in ("ours", "broken"):
        split[copy] = {kind: [c for c in report[kind] if f"/{copy}/" in c["file_abs_path"]]
                       for kind in ("passed", "failed", "skipped")}
    split["ours"]["parsing_errors"] = report["parsing_errors"]
    return split


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(checkov_reports: dict) -> None:
    ours = checkov_reports["ours"]
    assert ours["parsing_errors"] == 0, "checkov could not parse a file: its checks did not run on it"
    assert [(c["check_id"], c["resource"], c["file_path"]) for c in ours["failed"]] == []
    assert len(ours["passed"]) >= 10, "checkov ran almost no checks: did it read the template?"
    for skipped in ours["skipped"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"


def test_checkov_does_fail_when_a_security_setting_is_removed(checkov_reports: dict) -> None:
    failed = {(c["check_id"], c["resource"]) for c in checkov_reports["broken"]["failed"]}
    assert ("CKV_AZURE_236", "Microsoft.CognitiveServices/accounts.account") in failed


# ---- Settings: every one the app reads is accounted for ----------------------------------------------------------

def test_the_settings_module_yields_the_settings_the_app_reads() -> None:
    names = settings_the_app_reads()
    # A sample from each section: if the collection breaks, the contract below would check nothing.
    assert {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "HOTPEPPER_API_KEY", "REQUIRE_AUTHENTICATED_USER",
            "THREAD_RETENTION_DAYS", "TURN_DEADLINE_SECONDS"} <= names


def test_every_setting_the_app_reads_is_set_by_the_template_or_the_platform_or_left_at_its_default() -> None:
    in_template = set().union(*(app_settings(s) for s in SCENARIOS))
    unaccounted = sorted(n for n in settings_the_app_reads()
                         if n not in in_template and not _covered_by(n, PLATFORM) and n not in LEFT_AT_DEFAULT)
    assert unaccounted == [], (
        "settings the app reads that Azure would not get: set them in infra/app/function.bicep, or add them to "
        "LEFT_AT_DEFAULT or PLATFORM in this file with the reason")
    assert sorted(in_template & set(LEFT_AT_DEFAULT)) == []


def test_every_example_setting_reaches_azure_or_says_why_it_need_not() -> None:
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    in_template = set().union(*(app_settings(s) for s in SCENARIOS))
    accounted = in_template | settings_the_app_reads() | set(LEFT_AT_DEFAULT) | set(LOCAL_ONLY)
    unaccounted = sorted(n for n in example if n not in accounted and not _covered_by(n, PLATFORM)
                         and not _covered_by(n, READ_BY_OTHERS))
    assert unaccounted == [], "set them in infra/app/function.bicep, or add them to LOCAL_ONLY with the reason"
    assert sorted(in_template & set(LOCAL_ONLY)) == []


def test_every_template_setting_is_read_by_the_app_or_by_a_named_component() -> None:
    read = settings_the_app_reads()
    in_template = set().union(*(app_settings(s) for s in SCENARIOS))
    unknown = sorted(n for n in in_template if n not in read and not _covered_by(n, READ_BY_OTHERS))
    assert unknown == [], "set by the template but read by nobody (a typo?)"


def resolved_environment(scenario: str) -> dict[str, str]:
    """The environment the app would see: Key Vault references resolved as the platform does, platform settings
    added."""
    env: dict[str, str] = {}
    for name, value in app_settings(scenario).items():
        text = str(value)
        if text.startswith("@Microsoft.KeyVault("):
            text = f"resolved-{name.lower()}-0123456789"
        env[name] = text
    if site_params(scenario)["authSettingV2Configuration"]:
        env["WEBSITE_AUTH_ENABLED"] = "True"
    return env


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_app_settings_load_without_problems_from_the_template(scenario: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env = resolved_environment(scenario)
    unresolved = {n: v for n, v in env.items() if "<" in v}
    assert unresolved == {}, "a deploy-time value has no stand-in in DEPLOY_TIME"
    for name in settings_the_app_reads() | set(env) | set(PLATFORM):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from travel_assistant.settings import load_settings

    assert load_settings().problems() == {}


def test_storage_is_identity_based() -> None:
    settings = app_settings("defaults")
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == CLIENT_ID
    for service in ("blob", "queue", "table"):
        assert settings[f"AzureWebJobsStorage__{service}ServiceUri"].startswith(f"https://stexample.{service}.")
    assert "AzureWebJobsStorage" not in settings
    storage = main_template("defaults").module_params("storage")
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False


def test_the_model_is_reached_with_entra_id_not_a_key() -> None:
    for scenario in SCENARIOS:
        settings = app_settings(scenario)
        assert settings["AZURE_OPENAI_ENDPOINT"].startswith("https://")
        assert settings["AZURE_CLIENT_ID"] == CLIENT_ID  # DefaultAzureCredential's user-assigned identity
        assert "AZURE_OPENAI_API_KEY" not in settings
    assert app_settings("existing model")["AZURE_OPENAI_DEPLOYMENT"] == "corp-gpt"
    account = Template(INFRA / "app" / "openai.bicep").resource_config("account")[1]
    assert account["properties"]["disableLocalAuth"] is True


def test_telemetry_uses_the_identity() -> None:
    settings = app_settings("defaults")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == f"ClientId={CLIENT_ID};Authorization=AAD"
    assert main_template("defaults").module_params("appInsights")["disableLocalAuth"] is True


def test_thread_pool_covers_host_json_concurrency() -> None:
    durable = json.loads((ROOT / "host.json").read_text())["extensions"]["durableTask"]
    needed = durable["maxConcurrentActivityFunctions"] + durable["maxConcurrentOrchestratorFunctions"]
    assert int(app_settings("defaults")["PYTHON_THREADPOOL_THREAD_COUNT"]) >= needed


# ---- Secrets: Key Vault references only, never a value in a setting or an output --------------------------------

def vault_secret_names() -> set[str]:
    return set(Template(INFRA / "app" / "keyvault.bicep").variable("secretNames").values())


def test_each_given_key_is_a_key_vault_reference_to_a_secret_the_vault_holds() -> None:
    settings = app_settings("everything")
    for param, setting in SECRET_PARAMS.items():
        value = settings[setting]
        match = re.fullmatch(r"@Microsoft\.KeyVault\(VaultName=([\w-]+);SecretName=([\w-]+)\)", value)
        assert match, f"{setting} is not a Key Vault reference: {value}"
        assert match.group(1) == DEPLOY_TIME["vault.name"]
        assert match.group(2) in vault_secret_names()
        assert SCENARIOS["everything"][param] not in value


def test_a_key_not_given_is_not_set_so_the_tool_answers_not_configured() -> None:
    settings = app_settings("defaults")
    assert not set(SECRET_PARAMS.values()) & set(settings)


def test_the_vault_creates_a_secret_only_for_a_given_key_and_the_identity_may_only_read_secrets() -> None:
    vault = Template(INFRA / "app" / "keyvault.bicep")
    secrets = {name: vault.resource_config(name) for name, entry in vault.tree["resources"].items()
               if entry["type"] == "Microsoft.KeyVault/vaults/secrets"}
    assert {body["properties"]["value"] for _, body in secrets.values()} == set(SECRET_PARAMS)
    for condition, _body in secrets.values():
        assert condition is not None, "a secret must be created only when its key is given"
    assert vault.resource_config("vault")[1]["properties"]["enableRbacAuthorization"] is True


def secure_params(template: Template) -> set[str]:
    return {name for name, spec in template.tree.get("parameters", {}).items()
            if any(d.get("type") == "secure" for d in spec.get("decorators", []))}


def test_secure_parameters_reach_only_the_vault_and_no_output() -> None:
    """With every secret parameter set to a recognisable value, no module but the vault receives one, and no
    output of any file (main, or a module given the values main passes) shows one."""
    main = Template(INFRA / "main.bicep", {**BASE, **SCENARIOS["everything"]}, DEPLOY_TIME)
    assert secure_params(main) == set(SECRET_PARAMS), "a new secret parameter needs a Key Vault secret and a test"
    sentinels = [SCENARIOS["everything"][param] for param in SECRET_PARAMS]

    def shows_a_secret(value: Any) -> bool:
        text = json.dumps(value, default=str)
        return any(sentinel in text for sentinel in sentinels)

    for name, entry in main.tree["modules"].items():
        params = main.module_params(name)
        if name == "vault":
            assert all(params[param] == SCENARIOS["everything"][param] for param in SECRET_PARAMS)
        else:
            assert not shows_a_secret(params), f"module {name} receives a secret parameter"
        if "alias" not in entry["detail"]:  # a local module: its outputs, given what main passes
            module = main.module_template(name)
            for output in module.tree.get("outputs", {}):
                assert not shows_a_secret(module.output(output)), f"{name} output {output} shows a secret"
    for output in main.tree["outputs"]:
        assert not shows_a_secret(main.output(output)), f"output {output} shows a secret"


def test_no_template_reads_keys_or_builds_key_based_connection_strings() -> None:
    for path in BICEP_FILES:
        text = path.read_text()
        for pattern in (r"listKeys\(", r"listSecrets\(", r"listConnectionStrings\(", r"AccountKey=",
                        r"SharedAccessSignature", r"primaryKey", r"\.keys\("):
            assert not re.search(pattern, text), f"{path.name}: {pattern}"


# ---- Roles: every data plane the app or Durable uses, for the app's identity, and no others ----------------------

def all_role_assignments() -> dict[str, list[dict[str, Any]]]:
    return {path.relative_to(INFRA).as_posix(): role_assignments(Template(path)) for path in BICEP_FILES}


def test_every_data_plane_has_its_role_for_the_app_identity_and_there_are_no_other_roles() -> None:
    found = all_role_assignments()
    seen = {(file, a["role"]): a for file, assignments in found.items() for a in assignments}
    for role, (role_name, file, scope) in ROLES.items():
        assignment = seen.get((file, role))
        assert assignment, f"{role_name} is not assigned in {file}"
        assert assignment["scope"] == scope, f"{role_name} is scoped to {assignment['scope']}"
    assert {role for _, role in seen} == set(ROLES), "a role the app does not need is assigned"


def test_the_role_modules_are_given_the_app_identity() -> None:
    main = main_template("defaults")
    principals = {"dataAccess": "principalId", "vault": "readerPrincipalId", "scheduler": "principalId",
                  "newOpenAiAccess": "principalId", "existingOpenAiAccess": "principalId"}
    for module, param in principals.items():
        _, body = main.resource_config(module)
        assert dotted(body["params"][param]) == "identity.outputs.principalId", module
    _, api = main.resource_config("api")
    assert dotted(api["params"]["identityId"]) == "identity.outputs.resourceId"
    site = site_params("defaults")
    assert site["managedIdentities"] == {"userAssignedResourceIds": [DeployTime("identity.outputs.resourceId")]}
    assert site["keyVaultAccessIdentityResourceId"] == DeployTime("identity.outputs.resourceId")


def test_queue_access_only_while_durable_uses_storage_queues() -> None:
    assert main_template("defaults").module_params("dataAccess")["durableUsesStorageQueues"] is True
    assert main_template("everything").module_params("dataAccess")["durableUsesStorageQueues"] is False
    queue = next(a for a in role_assignments(Template(INFRA / "app" / "rbac.bicep")) if a["resource"] == "queueAccess")
    assert queue["condition"] == "durableUsesStorageQueues"


def test_a_model_role_is_assigned_whether_the_account_is_new_or_existing() -> None:
    for scenario, module in (("defaults", "newOpenAiAccess"), ("existing model", "existingOpenAiAccess")):
        main = main_template(scenario)
        condition, _ = main.resource_config(module)
        assert main.eval(condition) is True, f"{scenario}: {module} would not be deployed"
    existing = main_template("existing model").module_params("existingOpenAiAccess")
    assert existing["accountName"] == "corp-ai"


# ---- The function app itself --------------------------------------------------------------------------------------

def test_the_function_app_is_flex_consumption_python_https_only_without_ftp() -> None:
    main = main_template("defaults")
    assert main.module_params("plan")["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = site_params("defaults")
    assert site["kind"] == "functionapp,linux"
    assert site["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.13"}
    assert site["functionAppConfig"]["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert site["httpsOnly"] is True
    assert site["siteConfig"]["ftpsState"] == "Disabled"
    assert site["siteConfig"]["minTlsVersion"] == "1.2"
    assert {"name": "ftp", "allow": False} in site["basicPublishingCredentialsPolicies"]


def test_the_health_check_path_is_the_app_health_route() -> None:
    path = site_params("defaults")["siteConfig"]["healthCheckPath"]
    assert path == "/api/health"
    from devtools.harness.functions import bindings, function_index

    routes = {b.get("route") for name in function_index() for b in bindings(name) if b["type"] == "httpTrigger"}
    assert "health" in routes
    host = json.loads((ROOT / "host.json").read_text())
    assert "/" + host["extensions"]["http"]["routePrefix"] + "/health" == path


def test_sign_in_when_asked_requires_entra_id_and_the_app_requires_a_principal() -> None:
    assert site_params("defaults")["authSettingV2Configuration"] is None
    assert app_settings("defaults")["REQUIRE_AUTHENTICATED_USER"] == "false"
    auth = site_params("everything")["authSettingV2Configuration"]
    assert auth["platform"]["enabled"] is True
    assert auth["globalValidation"]["requireAuthentication"] is True
    assert "/api/health" in auth["globalValidation"]["excludedPaths"]
    entra = auth["identityProviders"]["azureActiveDirectory"]
    assert entra["registration"]["clientId"] == SCENARIOS["everything"]["authClientId"]
    assert entra["registration"]["clientSecretSettingName"] in app_settings("everything")
    assert app_settings("everything")["REQUIRE_AUTHENTICATED_USER"] == "true"


def test_the_durable_task_scheduler_backend_is_selected_by_settings_with_identity() -> None:
    settings = app_settings("everything")
    prefix = "AzureFunctionsJobHost__extensions__durableTask__"
    assert settings[prefix + "storageProvider__type"] == "azureManaged"
    connection_name = settings[prefix + "storageProvider__connectionStringName"]
    assert settings[connection_name] == (f"Endpoint={DEPLOY_TIME['scheduler.properties.endpoint']};"
                                         f"Authentication=ManagedIdentity;ClientID={CLIENT_ID}")
    assert settings[prefix + "hubName"] == DEPLOY_TIME["taskHub.name"]
    assert not any(n.startswith(prefix) or n == connection_name for n in app_settings("defaults"))
    scheduler = main_template("everything").module_template("scheduler")
    policy = scheduler.eval(scheduler.resource_config("autopurge")[1]["properties"]["retentionPolicies"])
    assert policy == [{"retentionPeriodInDays": 30}]
    assert app_settings("everything")["THREAD_RETENTION_DAYS"] == "30"  # autopurge keeps what cleanup keeps


# ---- azd wiring --------------------------------------------------------------------------------------------------

def test_azd_parameters_cover_every_required_parameter_and_name_only_real_ones() -> None:
    main = parse(INFRA / "main.bicep")["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(main)
    assert {n for n, spec in main.items() if "default" not in spec} <= set(given)
    for name in secure_params(Template(INFRA / "main.bicep", BASE)):
        assert given[name]["value"].endswith("=}"), f"{name} must default to empty (optional)"


def test_azure_yaml_deploys_this_folder_as_a_python_function_app() -> None:
    text = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^\s+project: \.$", text, re.M)
    assert "language: python" in text and "host: function" in text
    funcignore = (ROOT / ".funcignore").read_text().split()
    assert {"infra", "tests", ".azure"} <= set(funcignore)
    assert {".venv-checkov", ".venv*"} & set(funcignore)


# ---- The docs quote the template and the harness ------------------------------------------------------------------

def test_deploy_doc_starts_with_the_two_commands_and_says_it_was_not_deployed() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block and first_block.group(1).split("\n")[:2] == ["azd auth login", "azd up"]
    assert "azd down --purge" in text and "Not verified by a deployment" in text
    for variable in re.findall(r'"\$\{(\w+)=', (INFRA / "main.parameters.json").read_text()):
        assert f"`{variable}`" in text, f"docs/deploy.md does not explain {variable}"


def test_capacity_doc_quotes_the_benchmark_results() -> None:
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    text = (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8")
    store, cost = results["storage_transactions"], results["turn_cost"]

    def row(label: str) -> list[str]:
        line = next(li for li in text.splitlines() if li.startswith("| ") and label in li)
        return [cell.strip().strip("*") for cell in line.strip("|").split("|")][1:3]

    assert row("our table requests") == [str(store["plain"]["table_requests"]), str(store["tools"]["table_requests"])]
    assert row("Durable Task Scheduler actions") == [str(store["plain"]["dts_actions"]),
                                                     str(store["tools"]["dts_actions"])]
    assert row("activities (") == [str(cost["plain"]["activities"]), str(cost["tools"]["activities"])]
    assert row("durable timers") == [str(cost["plain"]["timers"]), str(cost["tools"]["timers"])]
    assert row("orchestrator episodes") == [str(cost["plain"]["episodes"]), str(cost["tools"]["episodes"])]
