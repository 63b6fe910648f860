// The function app: Flex Consumption (FC1), Linux, Python 3.13, one user-assigned identity for everything.
// Its app settings are the contract with travel_assistant/settings.py (tests/test_infra.py checks it).
param name string
param location string
param tags object
param planId string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param instanceMemoryMB int
param maximumInstanceCount int
param openAiEndpoint string
param openAiDeploymentName string
param vaultName string
param vaultSecretNames object
// Which secrets exist in the vault: a setting references only a secret that exists.
param hasHotpepperApiKey bool
param hasRakutenApplicationId bool
param hasRakutenAccessKey bool
param hasEkispertApiKey bool
param hasAuthClientSecret bool
param rakutenReferer string
param rakutenAffiliateId string
param threadRetentionDays int
param authEnabled bool
param authClientId string
param authTenantId string
@description('Durable Task Scheduler endpoint; empty when Durable uses Azure Storage.')
param schedulerEndpoint string
param schedulerTaskHubName string

// The Python version the suite also runs on (scripts/test.sh, CI).
var pythonVersion = '3.13'

// Sync functions (every activity and the orchestrator) run on the worker's thread pool; its default is
// min(32, cpu_count + 4), about 5 on a Flex instance, far below host.json's
// maxConcurrentActivityFunctions (16) + maxConcurrentOrchestratorFunctions (8) = 24: Durable would hand the worker
// more work than it has threads, and the rest would wait in the worker instead of scaling out. 32 covers the 24
// plus the sync HTTP handlers (page, assets, OpenAPI). Async HTTP handlers run on the event loop, outside the pool.
// Keep it >= the sum when host.json changes (tests/test_infra.py checks it).
var pythonThreadpoolThreadCount = 32

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var storageSettings = {
  // Identity-based AzureWebJobsStorage: the host, Durable (Azure Storage backend) and our tables.
  AzureWebJobsStorage__accountName: storageAccount.name
  AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
}

var platformSettings = {
  // DefaultAzureCredential (Azure OpenAI, tables) picks the user-assigned identity by this client ID.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_THREADPOOL_THREAD_COUNT: string(pythonThreadpoolThreadCount)
}

var appSettings = {
  MODEL_API: 'responses'
  AZURE_OPENAI_ENDPOINT: openAiEndpoint
  AZURE_OPENAI_DEPLOYMENT: openAiDeploymentName
  REQUIRE_AUTHENTICATED_USER: authEnabled ? 'true' : 'false'
  THREAD_RETENTION_DAYS: string(threadRetentionDays)
}

var signInUsesClientSecret = authEnabled && hasAuthClientSecret

// Only the keys that were given: a tool without its key answers not_configured.
var secretSettings = union(
  hasHotpepperApiKey ? { HOTPEPPER_API_KEY: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${vaultSecretNames.hotpepperApiKey})' } : {},
  hasRakutenApplicationId ? { RAKUTEN_APPLICATION_ID: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${vaultSecretNames.rakutenApplicationId})' } : {},
  hasRakutenAccessKey ? { RAKUTEN_ACCESS_KEY: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${vaultSecretNames.rakutenAccessKey})' } : {},
  hasEkispertApiKey ? { EKISPERT_API_KEY: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${vaultSecretNames.ekispertApiKey})' } : {},
  signInUsesClientSecret ? { MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${vaultSecretNames.authClientSecret})' } : {}
)

var rakutenSettings = union(
  empty(rakutenReferer) ? {} : { RAKUTEN_REFERER: rakutenReferer },
  empty(rakutenAffiliateId) ? {} : { RAKUTEN_AFFILIATE_ID: rakutenAffiliateId }
)

// host.json selects Azure Storage; these overrides (AzureFunctionsJobHost__<path>) switch Durable to the scheduler.
var schedulerSettings = empty(schedulerEndpoint) ? {} : {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  AzureFunctionsJobHost__extensions__durableTask__hubName: schedulerTaskHubName
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
}

var authSettings = {
  platform: { enabled: true }
  globalValidation: {
    requireAuthentication: true
    // Browsers get the sign-in page; API calls without a token get 401.
    unauthenticatedClientAction: 'RedirectToLoginPage'
    redirectToProvider: 'azureactivedirectory'
    // The platform's health check carries no user.
    excludedPaths: ['/api/health']
  }
  httpSettings: { requireHttps: true }
  identityProviders: {
    azureActiveDirectory: {
      enabled: true
      registration: {
        clientId: authClientId
        openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        // Without a secret, sign-in uses the ID token (implicit) flow of the app registration.
        clientSecretSettingName: hasAuthClientSecret ? 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET' : null
      }
      validation: { allowedAudiences: ['api://${authClientId}', authClientId] }
    }
  }
}

module site 'br/public:avm/res/web/site:0.15.1' = {
  name: 'site'
  params: {
    name: name
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    kind: 'functionapp,linux'
    serverFarmResourceId: planId
    httpsOnly: true
    managedIdentities: { userAssignedResourceIds: [identityId] }
    keyVaultAccessIdentityResourceId: identityId // Key Vault references resolve with the same identity
    basicPublishingCredentialsPolicies: [{ name: 'ftp', allow: false }]
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'python', version: pythonVersion }
    }
    siteConfig: {
      alwaysOn: false
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      http20Enabled: true
      healthCheckPath: '/api/health'
    }
    appSettingsKeyValuePairs: union(storageSettings, platformSettings, appSettings, secretSettings, rakutenSettings, schedulerSettings)
    authSettingV2Configuration: authEnabled ? authSettings : null
  }
}

// Read back after the module (outputs are evaluated last) for the host name the platform assigned.
resource deployed 'Microsoft.Web/sites@2024-04-01' existing = {
  name: name
}

output name string = site.outputs.name
output uri string = 'https://${deployed.properties.defaultHostName}'
