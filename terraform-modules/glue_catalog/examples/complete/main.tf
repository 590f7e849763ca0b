# Complete example of the glue_catalog module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "glue_catalog" {
  source = "../../"

  account_id = "111122223333"
  region = "us-east-1"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "database_names" {
  value = module.glue_catalog.database_names
}

output "database_arns" {
  value = module.glue_catalog.database_arns
}

output "table_arns" {
  value = module.glue_catalog.table_arns
}

output "tables" {
  value = module.glue_catalog.tables
}

output "table_names" {
  value = module.glue_catalog.table_names
}

output "catalog_arn" {
  value = module.glue_catalog.catalog_arn
}

output "crawler_name" {
  value = module.glue_catalog.crawler_name
}

output "crawler_role_arn" {
  value = module.glue_catalog.crawler_role_arn
}

output "security_configuration_name" {
  value = module.glue_catalog.security_configuration_name
}
