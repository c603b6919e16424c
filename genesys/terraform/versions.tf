terraform {
  required_version = ">= 1.3.0"

  required_providers {
    genesyscloud = {
      source  = "MyPureCloud/genesyscloud"
      version = ">= 1.60.0, < 2.0.0"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

# Credentials come from the environment:
#   GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET, GENESYSCLOUD_REGION (e.g. us-east-1)
# The OAuth client needs the integrations:* permissions listed in README.md.
provider "genesyscloud" {}

provider "aws" {
  region = var.aws_region
}
