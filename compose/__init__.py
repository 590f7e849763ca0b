"""Composition: the platform's constructs wired into one Terraform stack per environment, layer by layer.

==================  ===========================================================================================
``provider.py``     the AWS provider (every endpoint at the emulator locally) and the state backend
``foundation.py``   naming, tags, account and partition, the KMS key, the lake's buckets
``network.py``      the data services' private VPC (dev, prod), or an existing VPC's ids
``warehouse.py``    Redshift (Serverless by default) in the network, with the star schema's generated DDL, and
                    the warehouse load job's connection per environment (Data API on AWS, PostgreSQL locally)
``streaming.py``    Kinesis stream -> ingest Lambda (failure queue, logs) through the event source mapping;
                    MSK cluster -> MSK ingest Lambda (dev, prod)
``batch.py``        Glue Data Catalog, Athena workgroup (and its named queries), Glue jobs (bronze -> silver ->
                    gold -> the warehouse load) and their workflow, EMR backfill
``monitoring.py``   alarms per watched resource, composite alarms per layer and for the platform, the alert
                    topic and the dashboard, from the ``watches`` the other layers' constructs declare
``serving.py``      the query API: HTTP API -> query Lambda -> Athena named queries (and locally its authorizer);
                    QuickSight over the warehouse and Athena (dev, prod)
``inputs.py``       what comes from outside Terraform: Lambda zips, shared-code zip, scripts, tables, steps
``outputs.py``      stack outputs: each layer declares its own ``OUTPUTS``
==================  ===========================================================================================

A layer module has ``OUTPUTS`` (the stack outputs it creates, with the switch that creates them),
``key_users(config, names)`` (what it needs from the KMS key policy) and ``build(foundation, inputs)``.
Everything environment-specific comes from ``environments/<env>.toml``; the constructs in ``modules/``
see only their props. The AWS provider bindings are imported lazily, once per process, by the first
stack built.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from compose import batch, foundation, monitoring, network, serving, streaming, warehouse
from compose.inputs import BuildInputs, resolve
from compose.outputs import Outputs, StackOutput
from environments import ENVIRONMENTS, EnvironmentConfig, load_environment
from modules._bindings import core

LAYERS = (foundation, network, warehouse, streaming, batch, serving, monitoring)
"""Layers in build order (the foundation first: every other layer builds on its key and buckets; the network
before the warehouse, which runs in it; the warehouse before the batch layer, whose load job talks to it; the
monitoring last: it watches what the others built)."""

WATCHED_LAYERS = (warehouse, streaming, batch, serving)
"""The layers whose constructs' watches become alarms, each layer with its own composite alarm."""

STACK_OUTPUTS: tuple[StackOutput, ...] = tuple(o for layer in LAYERS for o in layer.OUTPUTS)
OUTPUT_NAMES: tuple[str, ...] = tuple(o.name for o in STACK_OUTPUTS)
"""Every stack output a stack may have (a service switched off drops its outputs: :func:`expected_outputs`)."""

__all__ = ["LAYERS", "OUTPUT_NAMES", "STACK_OUTPUTS", "BuildInputs", "build_app", "build_stack", "expected_outputs"]


def expected_outputs(config: EnvironmentConfig) -> tuple[str, ...]:
    """The outputs a stack has for its ``[services]`` switches (and their further conditions)."""
    return tuple(o.name for o in STACK_OUTPUTS if o.expected(config))


def build_stack(app, config: EnvironmentConfig, inputs: BuildInputs | None = None):
    """One environment's TerraformStack (``lakeforge-<env>``), composed from the enabled services."""
    TerraformStack = core.TerraformStack

    from compose.provider import configure_provider

    stack = TerraformStack(app, config.stack_name)
    configure_provider(stack, config)
    inputs = resolve(inputs, config)
    names = foundation.naming(stack, config)
    users = [layer.key_users(config, names) for layer in LAYERS]
    base = foundation.build(stack, names, users, Outputs(stack, STACK_OUTPUTS))
    network.build(base, inputs)
    watches = {}
    for layer in WATCHED_LAYERS:
        before = {id(node) for node in stack.node.find_all()}
        layer.build(base, inputs)
        watches[_layer_name(layer)] = watches_of(n for n in stack.node.find_all() if id(n) not in before)
    monitoring.build(base, watches)
    foundation.finish(base)
    return stack


def _layer_name(layer) -> str:
    return layer.__name__.rsplit(".", 1)[-1]


def watches_of(nodes) -> tuple:
    """The watches declared by ``nodes`` (constructs with a ``watches`` attribute), each keyed by its construct's
    path and its place among that construct's watches."""
    import dataclasses

    return tuple(dataclasses.replace(w, key=f"{node.node.path}/{i}") for node in nodes
                 for i, w in enumerate(getattr(node, "watches", ()) or ()))


def build_app(envs: Iterable[str] = ENVIRONMENTS, outdir: Path | str = "cdktf.out", *,
              env_dir: Path | str | None = None, inputs: BuildInputs | None = None):
    """A cdktf App holding one stack per environment in ``envs`` (call ``app.synth()`` to write it)."""
    App = core.App

    app = App(outdir=str(outdir), skip_validation=False)
    for env in envs:
        build_stack(app, load_environment(env, env_dir), inputs)
    return app
