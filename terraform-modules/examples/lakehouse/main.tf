# The lakehouse's streaming and batch path composed in plain HCL from the emitted modules: the platform key,
# the lake, the ingest stream, the ingest function and its mapping, the pseudonymization secret and the Glue
# jobs. No code beyond this file: every resource comes from a module (the Glue databases are the caller's).
#
#   terraform init && terraform apply -var name_prefix=acme-123456789012-dev -var account_id=123456789012
#
# Bucket names are <name_prefix>-<layer>: S3 names are global, so put something unique in the prefix.
#
# The ingest function's package is shipped inside its module (terraform-modules/ingest_function/assets).

terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
  default     = "lakeforge-hcl"
}

variable "account_id" {
  type        = string
  description = "The AWS account the stack is deployed to."
}

variable "region" {
  type    = string
  default = "sa-east-1"
}

variable "database_names" {
  type        = map(string)
  description = "The Glue databases of the bronze, silver and gold layers (the catalog's)."
  default = {
    bronze = "lakeforge_hcl_bronze"
    silver = "lakeforge_hcl_silver"
    gold   = "lakeforge_hcl_gold"
  }
}

provider "aws" {
  region = var.region
}

module "kms" {
  source       = "../../kms"
  alias        = "${var.name_prefix}-lake"
  account_id   = var.account_id
  region       = var.region
  description  = "${var.name_prefix}: lake, stream, queue, catalog, job and log encryption"
}

module "lake" {
  source      = "../../s3_lake"
  name_prefix = var.name_prefix
  account_id  = var.account_id
  kms_key_arn = module.kms.arn
}

module "stream" {
  source      = "../../kinesis"
  name        = "${var.name_prefix}-ingest"
  kms_key_arn = module.kms.arn
}

module "ingest_function" {
  source                = "../../ingest_function"
  function_name         = "${var.name_prefix}-ingest"
  kms_key_arn           = module.kms.arn
  bronze_bucket         = module.lake.bucket_names["bronze"]
  quarantine_bucket     = module.lake.bucket_names["quarantine"]
  bronze_bucket_arn     = module.lake.bucket_arns["bronze"]
  quarantine_bucket_arn = module.lake.bucket_arns["quarantine"]
  log_level             = "INFO"
}

module "ingest_source" {
  source                     = "../../kinesis_ingest"
  function_name              = module.ingest_function.arn
  stream_arn                 = module.stream.arn
  on_failure_destination_arn = module.ingest_function.failure_queue_arn
  role_name                  = module.ingest_function.role_name
}

module "pseudonymization_key" {
  source      = "../../secrets_manager"
  name        = "${var.name_prefix}/pseudonymization-key"
  kms_key_arn = module.kms.arn
}

module "glue_jobs" {
  source                   = "../../lakehouse_glue_jobs"
  name_prefix              = var.name_prefix
  account_id               = var.account_id
  region                   = var.region
  kms_key_arn              = module.kms.arn
  bucket_names             = module.lake.bucket_names
  bucket_arns              = module.lake.bucket_arns
  database_names           = var.database_names
  pseudonymization_key_arn = module.pseudonymization_key.arn
}

output "bucket_names" {
  value = module.lake.bucket_names
}

output "stream_name" {
  value = module.stream.name
}

output "ingest_function_name" {
  value = module.ingest_function.function_name
}

output "glue_job_names" {
  value = module.glue_jobs.job_names
}
