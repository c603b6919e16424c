output "integration_id" {
  description = "Id of the aws-lambda-data-actions integration."
  value       = genesyscloud_integration.lambda.id
}

output "credential_id" {
  description = "Id of the amazonWebServicesARN credential."
  value       = genesyscloud_integration_credential.lambda_role.id
}

output "role_arn" {
  description = "Role Genesys Cloud assumes to invoke the Lambda."
  value       = local.role_arn
}

output "external_id" {
  description = "sts:ExternalId the role's trust policy must require (the Genesys org id)."
  value       = local.org_id
}
