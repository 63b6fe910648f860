// A new Azure OpenAI account with one model deployment, reached with Entra ID only (local/key auth disabled).
param name string
param location string
param tags object
param deploymentName string
param modelName string
param modelVersion string
param deploymentSku string
param deploymentCapacity int

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    // Entra ID tokens need a custom subdomain; it also makes the endpoint https://<name>.openai.azure.com/.
    customSubDomainName: name
    disableLocalAuth: true
    // checkov:skip=CKV_AZURE_134:Flex Consumption without VNet integration reaches the model over its public endpoint; access is Entra ID only (disableLocalAuth) and granted by role to the app's identity
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow' }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: { name: deploymentSku, capacity: deploymentCapacity }
  properties: {
    model: { format: 'OpenAI', name: modelName, version: modelVersion }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
}

output name string = account.name
output endpoint string = account.properties.endpoint
