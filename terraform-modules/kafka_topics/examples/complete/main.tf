# Complete example of the kafka_topics module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "kafka_topics" {
  source = "../../"

  function_name = "lakeforge-dev-kafka-topics"
  bootstrap_servers = "b-1.example:9098"
  cluster_arn = "arn:aws:kafka:us-east-1:111122223333:cluster/lakeforge-dev/abc"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "function_name" {
  value = module.kafka_topics.function_name
}

output "result" {
  value = module.kafka_topics.result
}
