# Complete example of the glue_workflow module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "glue_workflow" {
  source = "../../"

  name = "lakeforge-dev-batch"
}

output "name" {
  value = module.glue_workflow.name
}

output "arn" {
  value = module.glue_workflow.arn
}

output "trigger_names" {
  value = module.glue_workflow.trigger_names
}
