# Complete example of the athena module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "athena" {
  source = "../../"

  name = "lakeforge-dev"
  results_bucket = "lakeforge-dev-athena-results"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "name" {
  value = module.athena.name
}

output "arn" {
  value = module.athena.arn
}

output "output_location" {
  value = module.athena.output_location
}

output "named_queries" {
  value = module.athena.named_queries
}

output "named_query_ids" {
  value = module.athena.named_query_ids
}
