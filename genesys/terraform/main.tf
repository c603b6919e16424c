# CX-as-Code example: the Genesys side of the customer-lookup data action.
#
# Creates (Genesys Cloud): an amazonWebServicesARN credential holding the role ARN, an aws-lambda-data-actions
# integration using it, and the data action whose request URL is the Lambda ARN.
# Optionally creates (AWS): the role Genesys assumes, for users who do not deploy the SAM template.
#
# The contracts are read from ../data-action/customer-lookup.custom.json, the same file used for a manual import,
# so the two cannot drift. (genesys/check_action.py keeps that file and output.schema.json identical.)

data "genesyscloud_organizations_me" "this" {}

locals {
  action_file = jsondecode(file("${path.module}/../data-action/customer-lookup.custom.json"))
  org_id      = var.genesys_org_id != "" ? var.genesys_org_id : data.genesyscloud_organizations_me.this.id
  role_arn    = var.create_iam_role ? aws_iam_role.genesys_invoke[0].arn : var.role_arn
}

# ---------------------------------------------------------------------------------------------------------------------
# AWS: the role Genesys Cloud assumes (optional; the SAM template can create the same role)
# ---------------------------------------------------------------------------------------------------------------------
resource "aws_iam_role" "genesys_invoke" {
  count       = var.create_iam_role ? 1 : 0
  name        = var.iam_role_name
  description = "Assumed by Genesys Cloud (aws-lambda-data-actions) to invoke the customer-lookup Lambda"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${var.genesys_aws_account_id}:root" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "sts:ExternalId" = local.org_id }
      }
    }]
  })
}

resource "aws_iam_role_policy" "genesys_invoke" {
  count = var.create_iam_role ? 1 : 0
  name  = "invoke-customer-lookup"
  role  = aws_iam_role.genesys_invoke[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "lambda:InvokeFunction"
      Resource = var.lambda_arn
    }]
  })
}

# ---------------------------------------------------------------------------------------------------------------------
# Genesys Cloud: credential, integration, action
# ---------------------------------------------------------------------------------------------------------------------
resource "genesyscloud_integration_credential" "lambda_role" {
  name                 = "${var.integration_name} role"
  credential_type_name = "amazonWebServicesARN"
  fields = {
    ARN = local.role_arn
  }

  lifecycle {
    precondition {
      condition     = var.create_iam_role || can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
      error_message = "Set role_arn to the ARN of the role Genesys assumes, or set create_iam_role = true."
    }
  }
}

resource "genesyscloud_integration" "lambda" {
  intended_state   = "ENABLED"
  integration_type = "aws-lambda-data-actions"

  config {
    name       = var.integration_name
    properties = jsonencode({})
    advanced   = jsonencode({})
    notes      = "Invokes the customer-lookup Lambda by assuming ${local.role_arn}"
    credentials = {
      AmazonWebServicesARN = genesyscloud_integration_credential.lambda_role.id
    }
  }

  # The role's policy must exist before Genesys first tries to use the credential.
  depends_on = [aws_iam_role_policy.genesys_invoke]
}

resource "genesyscloud_integration_action" "customer_lookup" {
  name                   = var.action_name
  category               = var.integration_name
  integration_id         = genesyscloud_integration.lambda.id
  secure                 = false
  config_timeout_seconds = var.action_timeout_seconds

  # Same contracts as the import file. Changing either recreates the action (new id): re-select it in Architect.
  contract_input  = jsonencode(local.action_file.contract.input.inputSchema)
  contract_output = jsonencode(local.action_file.contract.output.successSchema)

  config_request {
    # `$${` is a literal `${` for Genesys' Velocity templates; a bare `${` would be Terraform interpolation.
    request_url_template = var.lambda_arn
    request_type         = "POST"
    request_template     = "$${input.rawRequest}"
    headers              = {}
  }

  config_response {
    translation_map          = {}
    translation_map_defaults = {}
    success_template         = "$${rawResult}"
  }
}
