# Complete example of the secrets_manager module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "secrets_manager" {
  source = "../../"

  name = "lakeforge-dev/pseudonymization-key"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "arn" {
  value = module.secrets_manager.arn
}

output "name" {
  value = module.secrets_manager.name
}
