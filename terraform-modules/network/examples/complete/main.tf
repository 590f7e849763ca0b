# Complete example of the network module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "network" {
  source = "../../"

  name = "lakeforge-dev"
  region = "us-east-1"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "vpc_id" {
  value = module.network.vpc_id
}

output "vpc_cidr" {
  value = module.network.vpc_cidr
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}

output "private_route_table_ids" {
  value = module.network.private_route_table_ids
}

output "data_security_group_id" {
  value = module.network.data_security_group_id
}

output "endpoint_security_group_id" {
  value = module.network.endpoint_security_group_id
}

output "flow_log_group_name" {
  value = module.network.flow_log_group_name
}

output "s3_endpoint_id" {
  value = module.network.s3_endpoint_id
}
