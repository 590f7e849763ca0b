# Complete example of the lakehouse_glue_jobs module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "lakehouse_glue_jobs" {
  source = "../../"

  name_prefix = "lakeforge-dev"
  account_id = "111122223333"
  region = "us-east-1"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  bucket_arns = {
    bronze = "arn:aws:s3:::lakeforge-dev-bronze"
    silver = "arn:aws:s3:::lakeforge-dev-silver"
    gold = "arn:aws:s3:::lakeforge-dev-gold"
    quarantine = "arn:aws:s3:::lakeforge-dev-quarantine"
    artifacts = "arn:aws:s3:::lakeforge-dev-artifacts"
    athena_results = "arn:aws:s3:::lakeforge-dev-athena-results"
  }
  bucket_names = {
    bronze = "lakeforge-dev-bronze"
    silver = "lakeforge-dev-silver"
    gold = "lakeforge-dev-gold"
    quarantine = "lakeforge-dev-quarantine"
    artifacts = "lakeforge-dev-artifacts"
    athena_results = "lakeforge-dev-athena-results"
  }
  database_names = {
    bronze = "lakeforge_dev_bronze"
    silver = "lakeforge_dev_silver"
    gold = "lakeforge_dev_gold"
  }
  pseudonymization_key_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:lakeforge-dev/pseudonymization-key"
}

output "job_names" {
  value = module.lakehouse_glue_jobs.job_names
}

output "job_arns" {
  value = module.lakehouse_glue_jobs.job_arns
}

output "role_names" {
  value = module.lakehouse_glue_jobs.role_names
}

output "role_arns" {
  value = module.lakehouse_glue_jobs.role_arns
}

output "script_uris" {
  value = module.lakehouse_glue_jobs.script_uris
}

output "libs_uri" {
  value = module.lakehouse_glue_jobs.libs_uri
}

output "security_configuration_name" {
  value = module.lakehouse_glue_jobs.security_configuration_name
}

output "log_group_name" {
  value = module.lakehouse_glue_jobs.log_group_name
}

output "log_group_prefix" {
  value = module.lakehouse_glue_jobs.log_group_prefix
}

output "log_group_names" {
  value = module.lakehouse_glue_jobs.log_group_names
}
