# Complete example of the msk_ingest module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "msk_ingest" {
  source = "../../"

  function_name = "arn:aws:lambda:us-east-1:111122223333:function:example"
  cluster_arn = "arn:aws:kafka:us-east-1:111122223333:cluster/lakeforge-dev/abc"
}

output "uuid" {
  value = module.msk_ingest.uuid
}

output "arn" {
  value = module.msk_ingest.arn
}
