# Complete example of the quicksight module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "quicksight" {
  source = "../../"

  account_id = "111122223333"
  region = "us-east-1"
  redshift_host = "lakeforge-dev.111122223333.us-east-1.redshift-serverless.amazonaws.com"
  redshift_database = "lakehouse"
  redshift_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:redshift-abc"
}

output "dashboard_id" {
  value = module.quicksight.dashboard_id
}

output "dashboard_arn" {
  value = module.quicksight.dashboard_arn
}

output "data_set_arns" {
  value = module.quicksight.data_set_arns
}

output "data_source_arns" {
  value = module.quicksight.data_source_arns
}

output "vpc_connection_arn" {
  value = module.quicksight.vpc_connection_arn
}
