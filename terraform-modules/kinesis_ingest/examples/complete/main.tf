# Complete example of the kinesis_ingest module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "kinesis_ingest" {
  source = "../../"

  function_name = "arn:aws:lambda:us-east-1:111122223333:function:example"
  stream_arn = "arn:aws:kinesis:us-east-1:111122223333:stream/example"
  on_failure_destination_arn = "arn:aws:sqs:us-east-1:111122223333:example-failures"
  role_name = "lakeforge-dev-ingest-role"
}

output "uuid" {
  value = module.kinesis_ingest.uuid
}

output "arn" {
  value = module.kinesis_ingest.arn
}
