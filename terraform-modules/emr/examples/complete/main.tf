# Complete example of the emr module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "emr" {
  source = "../../"

  name = "lakeforge-dev-backfill"
  artifacts_bucket = "lakeforge-dev-artifacts"
  artifacts_bucket_arn = "arn:aws:s3:::lakeforge-dev-artifacts"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  account_id = "111122223333"
  region = "us-east-1"
}

output "cluster_id" {
  value = module.emr.cluster_id
}

output "cluster_arn" {
  value = module.emr.cluster_arn
}

output "security_configuration_name" {
  value = module.emr.security_configuration_name
}

output "service_role_arn" {
  value = module.emr.service_role_arn
}

output "instance_role_arn" {
  value = module.emr.instance_role_arn
}

output "instance_role_name" {
  value = module.emr.instance_role_name
}

output "instance_profile_arn" {
  value = module.emr.instance_profile_arn
}

output "security_group_ids" {
  value = module.emr.security_group_ids
}

output "log_uri" {
  value = module.emr.log_uri
}

output "upload_uris" {
  value = module.emr.upload_uris
}
