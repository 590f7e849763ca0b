# Complete example of the s3_lake module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "s3_lake" {
  source = "../../"

  name_prefix = "lakeforge-dev"
  account_id = "111122223333"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "bucket_names" {
  value = module.s3_lake.bucket_names
}

output "bucket_arns" {
  value = module.s3_lake.bucket_arns
}

output "access_logs_bucket_name" {
  value = module.s3_lake.access_logs_bucket_name
}
