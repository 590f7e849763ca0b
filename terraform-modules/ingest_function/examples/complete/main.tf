# Complete example of the ingest_function module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "ingest_function" {
  source = "../../"

  function_name = "lakeforge-dev-ingest"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  bronze_bucket = "lakeforge-dev-bronze"
  bronze_bucket_arn = "arn:aws:s3:::lakeforge-dev-bronze"
  log_level = "INFO"
  quarantine_bucket = "lakeforge-dev-quarantine"
  quarantine_bucket_arn = "arn:aws:s3:::lakeforge-dev-quarantine"
}

output "function_name" {
  value = module.ingest_function.function_name
}

output "arn" {
  value = module.ingest_function.arn
}

output "invoke_arn" {
  value = module.ingest_function.invoke_arn
}

output "role_name" {
  value = module.ingest_function.role_name
}

output "role_arn" {
  value = module.ingest_function.role_arn
}

output "log_group_name" {
  value = module.ingest_function.log_group_name
}

output "failure_queue_url" {
  value = module.ingest_function.failure_queue_url
}

output "failure_queue_arn" {
  value = module.ingest_function.failure_queue_arn
}

output "code_hash" {
  value = module.ingest_function.code_hash
}
