// The app's identity may call the model: Cognitive Services OpenAI User on the account, new or existing.
// Deployed in the account's resource group, so an existing account elsewhere works too.
param accountName string
param principalId string

// Cognitive Services OpenAI User: inference (responses, conversations, files of the code interpreter); no keys,
// no management of deployments.
var openAiUserRole = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource modelAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, openAiUserRole)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUserRole)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = account.properties.endpoint
