# Complete example of the kms module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "kms" {
  source = "../../"

  alias = "lakeforge-dev-lake"
  account_id = "111122223333"
  region = "us-east-1"
}

output "arn" {
  value = module.kms.arn
}

output "key_id" {
  value = module.kms.key_id
}

output "alias_name" {
  value = module.kms.alias_name
}

output "alias_arn" {
  value = module.kms.alias_arn
}

output "policy" {
  value = module.kms.policy
}
