# Complete example of the lambda_function module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "lambda_function" {
  source = "../../"

  function_name = "lakeforge-dev-example"
  handler = "app.handler"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  zip_path = "function.zip"
}

output "function_name" {
  value = module.lambda_function.function_name
}

output "arn" {
  value = module.lambda_function.arn
}

output "invoke_arn" {
  value = module.lambda_function.invoke_arn
}

output "role_name" {
  value = module.lambda_function.role_name
}

output "role_arn" {
  value = module.lambda_function.role_arn
}

output "log_group_name" {
  value = module.lambda_function.log_group_name
}

output "failure_queue_url" {
  value = module.lambda_function.failure_queue_url
}

output "failure_queue_arn" {
  value = module.lambda_function.failure_queue_arn
}

output "code_hash" {
  value = module.lambda_function.code_hash
}
