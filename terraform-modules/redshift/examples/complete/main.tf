# Complete example of the redshift module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "redshift" {
  source = "../../"

  subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  security_group_ids = ["sg-0123456789abcdef0"]
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  gold_bucket_arn = "arn:aws:s3:::lakeforge-dev-gold"
  account_id = "111122223333"
}

output "endpoint" {
  value = module.redshift.endpoint
}

output "port" {
  value = module.redshift.port
}

output "database_name" {
  value = module.redshift.database_name
}

output "workgroup_name" {
  value = module.redshift.workgroup_name
}

output "namespace_name" {
  value = module.redshift.namespace_name
}

output "admin_secret_arn" {
  value = module.redshift.admin_secret_arn
}

output "data_api_target_arn" {
  value = module.redshift.data_api_target_arn
}

output "copy_role_arn" {
  value = module.redshift.copy_role_arn
}
