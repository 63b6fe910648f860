// Optional Durable backend: a Durable Task Scheduler (Consumption SKU) with one task hub. The app's identity
// gets Durable Task Data Contributor on the scheduler. Autopurge deletes finished orchestrations after the
// retention, so the app's own history purge finds nothing left to do there; threads and model conversations are
// still deleted by the cleanup timer.
param name string
param location string
param tags object
param taskHubName string
param retentionDays int
param principalId string

// Durable Task Data Contributor: run orchestrations and activities, read and purge instances.
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'Consumption' }
    // Flex Consumption without VNet integration has no fixed outbound addresses; access needs the Entra role.
    ipAllowlist: ['0.0.0.0/0']
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource autopurge 'Microsoft.DurableTask/schedulers/retentionPolicies@2025-11-01' = {
  parent: scheduler
  name: 'default'
  properties: {
    retentionPolicies: [
      { retentionPeriodInDays: retentionDays } // every purgeable state: Completed, Failed, Canceled, Terminated
    ]
  }
}

resource durableAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, principalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
