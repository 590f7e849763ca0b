# Complete example of the monitoring module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "monitoring" {
  source = "../../"

  name_prefix = "lakeforge-dev"
  account_id = "111122223333"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

output "topic_arn" {
  value = module.monitoring.topic_arn
}

output "alarm_names" {
  value = module.monitoring.alarm_names
}

output "layer_alarm_names" {
  value = module.monitoring.layer_alarm_names
}

output "dashboard_name" {
  value = module.monitoring.dashboard_name
}

output "rule_names" {
  value = module.monitoring.rule_names
}

output "alarms" {
  value = module.monitoring.alarms
}

output "components" {
  value = module.monitoring.components
}
