variable "aws_region" {
  description = "AWS region of the data-action Lambda."
  type        = string
  default     = "us-east-1"
}

variable "lambda_arn" {
  description = "ARN of the data-action Lambda (SAM output), e.g. arn:aws:lambda:us-east-1:123456789012:function:customer-lookup. Genesys invokes exactly this ARN."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", var.lambda_arn))
    error_message = "lambda_arn must be a Lambda function ARN (optionally qualified with a version or alias)."
  }
}

variable "create_iam_role" {
  description = "Create the IAM role that Genesys Cloud assumes to invoke the Lambda. Leave false when the SAM template already created it and pass role_arn instead."
  type        = bool
  default     = false
}

variable "role_arn" {
  description = "ARN of an existing role that Genesys Cloud may assume (trust 765628985471 with sts:ExternalId = org id, lambda:InvokeFunction on lambda_arn). Required when create_iam_role is false."
  type        = string
  default     = ""
}

variable "iam_role_name" {
  description = "Name of the role created when create_iam_role is true."
  type        = string
  default     = "genesys-customer-lookup-invoker"
}

variable "genesys_org_id" {
  description = "Genesys Cloud organization id, used as sts:ExternalId. Empty = read it from the provider's org (genesyscloud_organizations_me)."
  type        = string
  default     = ""
}

variable "genesys_aws_account_id" {
  description = "AWS account Genesys Cloud assumes the role from: 765628985471 for core/satellite regions. FedRAMP (us-east-2) uses a different account; check the Genesys Resource Center."
  type        = string
  default     = "765628985471"
}

variable "integration_name" {
  description = "Name of the aws-lambda-data-actions integration (also used as the action category)."
  type        = string
  default     = "AWS Lambda Data Actions"
}
