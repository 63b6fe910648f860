// The travel assistant on Azure: one `azd up` creates everything the app needs and deploys it.
// Every connection uses the app's user-assigned managed identity; no key or connection secret is an app setting.
// docs/deploy.md explains each parameter; tests/test_infra.py checks this template against the app's settings.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource (a region with Flex Consumption, e.g. japaneast).')
@metadata({ azd: { type: 'location' } })
param location string

// ---- The model -------------------------------------------------------------------------------------------------
@description('Resource ID of an existing Azure OpenAI (or AI Services) account to use. Empty: a new account is created.')
param existingOpenAiResourceId string = ''

@description('Model deployment the app calls: created in the new account, or the name of one in the existing account.')
param openAiDeploymentName string = 'gpt-4.1-mini'

@description('Model of the new deployment (ignored with an existing account).')
param openAiModelName string = 'gpt-4.1-mini'

@description('Model version of the new deployment (ignored with an existing account).')
param openAiModelVersion string = '2025-04-14'

@description('Deployment type of the new deployment (ignored with an existing account).')
@allowed(['GlobalStandard', 'DataZoneStandard', 'Standard'])
param openAiDeploymentSku string = 'GlobalStandard'

@description('Capacity of the new deployment, in thousands of tokens per minute.')
@minValue(1)
param openAiDeploymentCapacity int = 30

@description('Region of the new Azure OpenAI account (the model must be offered there). Empty: location.')
param openAiLocation string = ''

// ---- Travel API keys: optional; a tool without its key answers not_configured -----------------------------------
@secure()
@description('Hotpepper Gourmet API key (stored in Key Vault).')
param hotpepperApiKey string = ''

@secure()
@description('Rakuten Travel application ID (stored in Key Vault).')
param rakutenApplicationId string = ''

@secure()
@description('Rakuten Travel access key (stored in Key Vault).')
param rakutenAccessKey string = ''

@secure()
@description('Ekispert API key (stored in Key Vault).')
param ekispertApiKey string = ''

@description('The site URL registered with Rakuten (sent as Referer). Empty: not sent.')
param rakutenReferer string = ''

@description('Rakuten affiliate ID (not a secret). Empty: not sent.')
param rakutenAffiliateId string = ''

// ---- Sign-in -----------------------------------------------------------------------------------------------------
@description('Turn on App Service authentication with Entra ID: only signed-in employees reach the app.')
param authEnabled bool = false

@description('Client ID of the Entra ID app registration used for sign-in (required when authEnabled).')
param authClientId string = ''

@description('Tenant of that app registration.')
param authTenantId string = tenant().tenantId

@secure()
@description('Client secret of that app registration (optional; stored in Key Vault). Without it, sign-in uses the ID token flow.')
param authClientSecret string = ''

// ---- Durable backend and retention ------------------------------------------------------------------------------
@description('Where Durable Functions keeps orchestration state.')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Days a thread may stay idle before cleanup deletes it; also the scheduler\'s autopurge retention.')
@minValue(1)
@maxValue(90)
param threadRetentionDays int = 30

// ---- Scale -------------------------------------------------------------------------------------------------------
@description('Flex Consumption instance memory (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Flex Consumption scale-out limit.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

var rgName = 'rg-${environmentName}'
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 12)}'
var useScheduler = durableBackend == 'DurableTaskScheduler'
var createOpenAi = empty(existingOpenAiResourceId)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'plan'
  scope: rg
  params: {
    name: 'plan-${resourceToken}'
    location: location
    tags: tags
    sku: { name: 'FC1', tier: 'FlexConsumption' }
    reserved: true // Linux
  }
}

// Host state, Durable's task hub (Azure Storage backend), our tables and the deployment package.
// Shared keys are off: everything reaches it with the managed identity.
module storage 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
    blobServices: { containers: [{ name: deploymentContainerName }] }
  }
}

module logs 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logs'
  scope: rg
  params: {
    name: 'log-${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

// Local (instrumentation-key) auth is off: telemetry is accepted only with the app's Entra token
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING + Monitoring Metrics Publisher).
module appInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: 'appi-${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logs.outputs.resourceId
    disableLocalAuth: true
  }
}

module openAi 'app/openai.bicep' = if (createOpenAi) {
  name: 'openAi'
  scope: rg
  params: {
    name: 'oai-${resourceToken}'
    location: empty(openAiLocation) ? location : openAiLocation
    tags: tags
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    deploymentSku: openAiDeploymentSku
    deploymentCapacity: openAiDeploymentCapacity
  }
}

module newOpenAiAccess 'app/openai-access.bicep' = if (createOpenAi) {
  name: 'newOpenAiAccess'
  scope: rg
  params: {
    accountName: createOpenAi ? openAi.outputs.name : ''
    principalId: identity.outputs.principalId
  }
}

// An existing account may live in another resource group or subscription: its role assignment is made there.
// (A placeholder ID keeps the scope expression valid when no existing account is given: ARM evaluates it anyway.)
var openAiIdParts = split(createOpenAi ? '${subscription().id}/resourceGroups/${rgName}/providers/Microsoft.CognitiveServices/accounts/none' : existingOpenAiResourceId, '/')
module existingOpenAiAccess 'app/openai-access.bicep' = if (!createOpenAi) {
  name: 'existingOpenAiAccess'
  scope: resourceGroup(openAiIdParts[2], openAiIdParts[4])
  params: {
    accountName: last(openAiIdParts)
    principalId: identity.outputs.principalId
  }
}

module vault 'app/keyvault.bicep' = {
  name: 'vault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    hotpepperApiKey: hotpepperApiKey
    rakutenApplicationId: rakutenApplicationId
    rakutenAccessKey: rakutenAccessKey
    ekispertApiKey: ekispertApiKey
    authClientSecret: authClientSecret
  }
}

module scheduler 'app/durable-task-scheduler.bicep' = if (useScheduler) {
  name: 'scheduler'
  scope: rg
  params: {
    name: 'dts-${resourceToken}'
    location: location
    tags: tags
    taskHubName: 'travelassistant'
    retentionDays: threadRetentionDays
    principalId: identity.outputs.principalId
  }
}

module dataAccess 'app/rbac.bicep' = {
  name: 'dataAccess'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: appInsights.outputs.name
    principalId: identity.outputs.principalId
    durableUsesStorageQueues: !useScheduler
  }
}

module api 'app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    planId: plan.outputs.resourceId
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appInsightsName: appInsights.outputs.name
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    openAiEndpoint: createOpenAi ? openAi.outputs.endpoint : existingOpenAiAccess.outputs.endpoint
    openAiDeploymentName: openAiDeploymentName
    vaultName: vault.outputs.name
    vaultSecretNames: vault.outputs.secretNames
    hasHotpepperApiKey: !empty(hotpepperApiKey)
    hasRakutenApplicationId: !empty(rakutenApplicationId)
    hasRakutenAccessKey: !empty(rakutenAccessKey)
    hasEkispertApiKey: !empty(ekispertApiKey)
    hasAuthClientSecret: !empty(authClientSecret)
    rakutenReferer: rakutenReferer
    rakutenAffiliateId: rakutenAffiliateId
    threadRetentionDays: threadRetentionDays
    authEnabled: authEnabled
    authClientId: authClientId
    authTenantId: authTenantId
    schedulerEndpoint: useScheduler ? scheduler.outputs.endpoint : ''
    schedulerTaskHubName: useScheduler ? scheduler.outputs.taskHubName : ''
  }
  // The app must not start before it may read its storage, secrets and model.
  dependsOn: [dataAccess, newOpenAiAccess, existingOpenAiAccess]
}

// Names and endpoints only: nothing here is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_OPENAI_ENDPOINT string = createOpenAi ? openAi.outputs.endpoint : existingOpenAiAccess.outputs.endpoint
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output DURABLE_BACKEND string = durableBackend
