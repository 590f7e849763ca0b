# Complete example of the http_api module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "http_api" {
  source = "../../"

  function_name = "lakeforge-dev-query-api"
  function_arn = "arn:aws:lambda:us-east-1:111122223333:function:example"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "api_id" {
  value = module.http_api.api_id
}

output "api_endpoint" {
  value = module.http_api.api_endpoint
}

output "stage_invoke_url" {
  value = module.http_api.stage_invoke_url
}

output "execution_arn" {
  value = module.http_api.execution_arn
}

output "log_group_name" {
  value = module.http_api.log_group_name
}

output "route_ids" {
  value = module.http_api.route_ids
}
