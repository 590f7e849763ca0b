# Complete example of the s3_artifact module (emitted by `make modules`).
provider "aws" {
  region = "us-east-1"
}

module "s3_artifact" {
  source = "../../"

  bucket = "example-artifacts"
  key = "code/app.zip"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  source_path = "app.zip"
}

output "key" {
  value = module.s3_artifact.key
}

output "uri" {
  value = module.s3_artifact.uri
}

output "source_hash" {
  value = module.s3_artifact.source_hash
}
