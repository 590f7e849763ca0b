"""PythonFunction: a Python Lambda function from a prebuilt zip, with its log group, failure queue and a
least-privilege execution role.

The zip is built before synth (``bundling.lambda_zip.build_function_zip``) and handed over as
``zip_path``. It is registered as a cdktf ``TerraformAsset`` (type FILE), so synth copies it into the
stack folder and the function references it by a relative path; ``source_code_hash`` is
``base64(sha256(zip bytes))`` so Terraform redeploys exactly when the bytes change.

What it creates:

* ``aws_cloudwatch_log_group`` ``/aws/lambda/<name>`` (retention, KMS) created before the function, so
  Lambda never auto-creates an unencrypted, never-expiring group;
* ``aws_sqs_queue`` ``<name>-failures`` (KMS, 14-day retention, TLS-only queue policy): the function's
  ``dead_letter_config`` and async on-failure destination (``aws_lambda_function_event_invoke_config``);
  event source mappings can use it as their on-failure destination too (``failure_queue_arn``);
* ``aws_iam_role`` + inline ``aws_iam_role_policy`` granting only: CreateLogStream/PutLogEvents on its
  log group, SendMessage on its failure queue, Decrypt/GenerateDataKey on its key, X-Ray segment upload
  (resource ``*``: those actions have no resource type) and the caller's ``policy_statements``;
* ``aws_lambda_function`` (X-Ray tracing Active, environment encrypted with the key, reserved
  concurrency), with ``subnet_ids`` in those private subnets (``vpc_config``), its role then also allowed to
  create network interfaces in those subnets and security groups only, delete them, assign their addresses
  and look them up.
"""
from __future__ import annotations

from pathlib import Path

from constructs import Construct

from .iam import Statement, assume_role_policy, deny_insecure_transport, policy_document
from .monitoring_props import lambda_watches
from .lambda_function_props import (
    OUTPUTS, PythonFunctionProps, code_sha256, ec2_arn, network_interface_statements,
)
from .options import is_token
from ._bindings import aws, core

__all__ = ["OUTPUTS", "PythonFunction", "PythonFunctionProps", "function_name_of", "source_code_hash"]


VPC_DESCRIBE_ACTIONS: tuple[str, ...] = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
"""The EC2 look-ups Lambda makes for a function in a VPC (no resource type: ``Resource: "*"``)."""


def function_name_of(function: str) -> str:
    """A function's name from its ARN (``arn:<p>:lambda:<region>:<account>:function:<name>[:<qualifier>]``) or its
    name, either possibly a token: the seventh ``:`` field (a plain name has one field, which ``element`` wraps
    around to)."""
    Fn = core.Fn

    return Fn.element(Fn.split(":", function), 6)


def source_code_hash(zip_path: Path | str) -> str:
    """``base64(sha256(bytes))`` of a deployment package, as Lambda reports ``CodeSha256``."""
    return code_sha256(Path(zip_path).read_bytes())


class PythonFunction(Construct):
    """Python Lambda function with log group, failure queue and least-privilege role.

    Options: :class:`PythonFunctionProps`; outputs: :data:`OUTPUTS` (``modules/lambda_function_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: PythonFunctionProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.function = None
        self.role = None
        self.function_name: str | None = None
        self.arn: str | None = None
        self.invoke_arn: str | None = None
        self.role_name: str | None = None
        self.role_arn: str | None = None
        self.log_group_name: str | None = None
        self.failure_queue_url: str | None = None
        self.failure_queue_arn: str | None = None
        self.code_hash: str | None = None
        self.watches: tuple = ()
        if not props.create:
            return
        # A Terraform expression (an emitted module's variable) is read by Terraform; a local file is hashed here.
        from_terraform = is_token(str(props.zip_path))
        zip_path = Path(props.zip_path)
        if not from_terraform and not zip_path.is_file():
            raise FileNotFoundError(f"Lambda package {zip_path} does not exist: build it before synth")

        AssetType = core.AssetType
        TerraformAsset = core.TerraformAsset

        CloudwatchLogGroup = aws.cloudwatch_log_group.CloudwatchLogGroup
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        binding = aws.lambda_function
        LambdaFunction = binding.LambdaFunction
        LambdaFunctionDeadLetterConfig = binding.LambdaFunctionDeadLetterConfig
        LambdaFunctionEnvironment = binding.LambdaFunctionEnvironment
        LambdaFunctionTracingConfig = binding.LambdaFunctionTracingConfig
        LambdaFunctionVpcConfig = binding.LambdaFunctionVpcConfig
        binding = aws.lambda_function_event_invoke_config
        LambdaFunctionEventInvokeConfig = binding.LambdaFunctionEventInvokeConfig
        LambdaFunctionEventInvokeConfigDestinationConfig = binding.LambdaFunctionEventInvokeConfigDestinationConfig
        LambdaFunctionEventInvokeConfigDestinationConfigOnFailure = (
            binding.LambdaFunctionEventInvokeConfigDestinationConfigOnFailure)
        SqsQueue = aws.sqs_queue.SqsQueue
        SqsQueuePolicy = aws.sqs_queue_policy.SqsQueuePolicy

        tags = dict(props.tags)
        name = props.function_name

        log_group = CloudwatchLogGroup(
            self, "log_group", name=f"/aws/lambda/{name}", retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn, tags=tags,
        )

        queue = SqsQueue(
            self, "failure_queue", name=f"{name}-failures",
            message_retention_seconds=props.failure_queue_retention_seconds,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300 if props.kms_key_arn else None,
            sqs_managed_sse_enabled=None if props.kms_key_arn else True,
            tags=tags,
        )
        SqsQueuePolicy(
            self, "failure_queue_policy", queue_url=queue.url,
            policy=policy_document([deny_insecure_transport((queue.arn,), actions=("sqs:*",))],
                                   resource_policy=True),
        )

        statements = [
            Statement(sid="WriteOwnLogs", actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                      resources=(log_group.arn, f"{log_group.arn}:*")),
            Statement(sid="SendToFailureQueue", actions=("sqs:SendMessage",), resources=(queue.arn,)),
        ]
        if props.kms_key_arn:
            statements.append(Statement(sid="UseLakeKey", actions=("kms:Decrypt", "kms:GenerateDataKey"),
                                        resources=(props.kms_key_arn,)))
        if props.tracing:
            statements.append(Statement(sid="XRayTraces",
                                        actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
                                        resources=("*",)))
        if props.subnet_ids:
            statements.extend(network_interface_statements("Vpc", props.subnet_ids, props.security_group_ids))
            statements.append(Statement(sid="VpcNetworkInterfaceAddresses",
                                        actions=("ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
                                        resources=(ec2_arn("network-interface", "*"),)))
            statements.append(Statement(sid="VpcDescribeNetwork",
                                        actions=VPC_DESCRIBE_ACTIONS, resources=("*",)))
        statements.extend(props.policy_statements)

        self.role = IamRole(
            self, "role", name=f"{name}-role", description=f"Execution role of the {name} Lambda function",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"), tags=tags,
        )
        role_policy = IamRolePolicy(self, "role_policy", name=f"{name}-least-privilege", role=self.role.id,
                                    policy=policy_document(statements))

        if from_terraform:
            Fn = core.Fn
            filename = str(props.zip_path)
            self.code_hash = Fn.filebase64sha256(filename)
        else:
            filename = TerraformAsset(self, "code", path=str(zip_path.resolve()), type=AssetType.FILE).path
            self.code_hash = source_code_hash(zip_path)
        self.function = LambdaFunction(
            self, "function",
            function_name=name,
            description=props.description or None,
            role=self.role.arn,
            runtime=props.runtime,
            handler=props.handler,
            architectures=[props.architecture],
            filename=filename,
            source_code_hash=self.code_hash,
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            reserved_concurrent_executions=props.reserved_concurrency,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment)) if props.environment else None,
            kms_key_arn=props.kms_key_arn,
            code_signing_config_arn=props.code_signing_config_arn,
            tracing_config=LambdaFunctionTracingConfig(mode="Active" if props.tracing else "PassThrough"),
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=queue.arn),
            vpc_config=LambdaFunctionVpcConfig(subnet_ids=list(props.subnet_ids),
                                               security_group_ids=list(props.security_group_ids))
            if props.subnet_ids else None,
            tags=tags,
            depends_on=[log_group, role_policy],
        )
        LambdaFunctionEventInvokeConfig(
            self, "async_config", function_name=self.function.function_name,
            maximum_retry_attempts=props.async_max_retry_attempts,
            maximum_event_age_in_seconds=props.async_max_event_age_seconds,
            destination_config=LambdaFunctionEventInvokeConfigDestinationConfig(
                on_failure=LambdaFunctionEventInvokeConfigDestinationConfigOnFailure(destination=queue.arn)),
        )

        self.function_name = self.function.function_name
        self.arn = self.function.arn
        self.invoke_arn = self.function.invoke_arn
        self.role_name = self.role.name
        self.role_arn = self.role.arn
        self.log_group_name = log_group.name
        self.failure_queue_url = queue.url
        self.failure_queue_arn = queue.arn
        self.watches = lambda_watches(self.function_name, queue.name, props.timeout_seconds, props.app_metrics)
