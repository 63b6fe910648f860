// Key Vault for the travel API keys (and the sign-in client secret): app settings reference them with
// @Microsoft.KeyVault(...), resolved by the app's identity, which may only read secrets (Key Vault Secrets User).
// A secret is created only when its key is given.
param name string
param location string
param tags object
param readerPrincipalId string
@secure()
param hotpepperApiKey string
@secure()
param rakutenApplicationId string
@secure()
param rakutenAccessKey string
@secure()
param ekispertApiKey string
@secure()
param authClientSecret string

var secretNames = {
  hotpepperApiKey: 'hotpepper-api-key'
  rakutenApplicationId: 'rakuten-application-id'
  rakutenAccessKey: 'rakuten-access-key'
  ekispertApiKey: 'ekispert-api-key'
  authClientSecret: 'auth-client-secret'
}

// Key Vault Secrets User: read secret values, nothing else.
var secretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  // checkov:skip=CKV_AZURE_110:Purge protection would make `azd down --purge` fail to delete the vault for 7-90 days; it holds only re-issuable third-party API keys
  // checkov:skip=CKV_AZURE_42:Recoverable needs purge protection too, off for the reason given for CKV_AZURE_110; soft delete (7 days) is on
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // checkov:skip=CKV_AZURE_109:Flex Consumption without VNet integration resolves Key Vault references over the public endpoint; access is by Entra ID role only (RBAC, no access policies)
    // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: the app has no private network path to the vault
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource hotpepperApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(hotpepperApiKey)) {
  parent: vault
  name: secretNames.hotpepperApiKey
  // checkov:skip=CKV_AZURE_41:The providers' keys do not expire; rotation is manual (docs/deploy.md, Rotate the travel API keys)
  // checkov:skip=CKV_AZURE_114:contentType is set below; checkov 3 reads a conditional resource's body one level too high (pycep nests it under config.config) and reports it missing
  properties: {
    value: hotpepperApiKey
    contentType: 'text/plain'
  }
}

resource rakutenApplicationIdSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(rakutenApplicationId)) {
  parent: vault
  name: secretNames.rakutenApplicationId
  // checkov:skip=CKV_AZURE_41:The providers' keys do not expire; rotation is manual (docs/deploy.md, Rotate the travel API keys)
  // checkov:skip=CKV_AZURE_114:contentType is set below; checkov 3 reads a conditional resource's body one level too high (pycep nests it under config.config) and reports it missing
  properties: {
    value: rakutenApplicationId
    contentType: 'text/plain'
  }
}

resource rakutenAccessKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(rakutenAccessKey)) {
  parent: vault
  name: secretNames.rakutenAccessKey
  // checkov:skip=CKV_AZURE_41:The providers' keys do not expire; rotation is manual (docs/deploy.md, Rotate the travel API keys)
  // checkov:skip=CKV_AZURE_114:contentType is set below; checkov 3 reads a conditional resource's body one level too high (pycep nests it under config.config) and reports it missing
  properties: {
    value: rakutenAccessKey
    contentType: 'text/plain'
  }
}

resource ekispertApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(ekispertApiKey)) {
  parent: vault
  name: secretNames.ekispertApiKey
  // checkov:skip=CKV_AZURE_41:The providers' keys do not expire; rotation is manual (docs/deploy.md, Rotate the travel API keys)
  // checkov:skip=CKV_AZURE_114:contentType is set below; checkov 3 reads a conditional resource's body one level too high (pycep nests it under config.config) and reports it missing
  properties: {
    value: ekispertApiKey
    contentType: 'text/plain'
  }
}

resource authClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(authClientSecret)) {
  parent: vault
  name: secretNames.authClientSecret
  // checkov:skip=CKV_AZURE_41:The providers' keys do not expire; rotation is manual (docs/deploy.md, Rotate the travel API keys)
  // checkov:skip=CKV_AZURE_114:contentType is set below; checkov 3 reads a conditional resource's body one level too high (pycep nests it under config.config) and reports it missing
  properties: {
    value: authClientSecret
    contentType: 'text/plain'
  }
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRole)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRole)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output secretNames object = secretNames
