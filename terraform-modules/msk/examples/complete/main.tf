# Complete example of the msk module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "msk" {
  source = "../../"

  subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  security_group_ids = ["sg-0123456789abcdef0"]
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  topic_partitions = 3
}

output "arn" {
  value = module.msk.arn
}

output "cluster_name" {
  value = module.msk.cluster_name
}

output "cluster_uuid" {
  value = module.msk.cluster_uuid
}

output "bootstrap_brokers_sasl_iam" {
  value = module.msk.bootstrap_brokers_sasl_iam
}

output "ingest_topic" {
  value = module.msk.ingest_topic
}

output "ingest_topic_arn" {
  value = module.msk.ingest_topic_arn
}

output "configuration_arn" {
  value = module.msk.configuration_arn
}

output "log_group_name" {
  value = module.msk.log_group_name
}
