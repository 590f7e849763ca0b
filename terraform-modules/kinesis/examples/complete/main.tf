# Complete example of the kinesis module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "kinesis" {
  source = "../../"

  name = "lakeforge-dev-ingest"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "name" {
  value = module.kinesis.name
}

output "arn" {
  value = module.kinesis.arn
}
