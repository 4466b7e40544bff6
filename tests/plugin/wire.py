"""Plays the Pulumi engine for docpipe's component plugin, over real gRPC.

The engine runs a `runtime: python` component plugin (PulumiPlugin.yaml) through the Python
language host's RunPlugin: `<plugin venv>/bin/python <absolute plugin dir> <engine address>`,
with the consumer project's directory as working directory; the plugin prints its port on
stdout. The engine then calls GetPluginInfo and GetSchema (`pulumi package add`), CheckConfig and
Configure (for the default provider), and Construct for every component the consumer declares,
passing a resource monitor endpoint on which the plugin registers the component's children.
https://github.com/pulumi/pulumi/blob/master/sdk/python/cmd/pulumi-language-python/main.go
(RunPlugin) and sdk/go/common/resource/plugin/plugin.go (execPlugin, newPlugin).

This module serves the engine's two services (`Engine`: logs; `ResourceMonitor`:
registrations, invokes, outputs) and speaks to the plugin through the generated stubs that
ship with the SDK (`pulumi.runtime.proto`). Values travel as the engine sends them: protobuf
Structs in which every number is a double and secrets, unknowns, output values (a value with
its dependencies), assets and archives are objects tagged with Pulumi's signature key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import MockCallArgs, MockResourceArgs, rpc
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    errors_pb2,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    status_pb2,
)

from mockrun import RealisticMocks

REPOSITORY = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPOSITORY / "components"
PROJECT, STACK = "consumer", "dev"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
PORT_TIMEOUT_SECONDS = 60

# -- values as the engine puts them on the wire ---------------------------------------------

SIG = rpc._special_sig_key
UNKNOWN = rpc.UNKNOWN
ASSET_SIGNATURE, ARCHIVE_SIGNATURE = rpc._special_asset_sig, rpc._special_archive_sig


def secret(value: Any) -> dict[str, Any]:
    return {SIG: rpc._special_secret_sig, "value": value}


def output(
    value: Any = None, *, dependencies: tuple[str, ...] = (), is_secret: bool = False
) -> dict[str, Any]:
    """An output value: a value (absent when unknown) with the resources it comes from."""
    wire: dict[str, Any] = {
        SIG: rpc._special_output_value_sig,
        "dependencies": list(dependencies),
    }
    if value is not None:
        wire["value"] = value
    if is_secret:
        wire["secret"] = True
    return wire


def unknown_output(*dependencies: str) -> dict[str, Any]:
    """What a preview sends for a value another resource computes only on `up`."""
    return output(None, dependencies=dependencies)


def string_asset(text: str) -> dict[str, Any]:
    return {SIG: ASSET_SIGNATURE, "text": text}


def asset_archive(assets: Mapping[str, Any]) -> dict[str, Any]:
    return {SIG: ARCHIVE_SIGNATURE, "assets": dict(assets)}


def file_archive(path: str | Path) -> dict[str, Any]:
    return {SIG: ARCHIVE_SIGNATURE, "path": str(path)}


def provider_reference(urn: str, resource_id: str) -> str:
    """How the engine names an explicit provider: `<urn>::<id>`."""
    return f"{urn}::{resource_id}"


def fake_build(directory: Path) -> Path:
    """A docpipe build outside the repository: what `make build` writes (empty zip files)."""
    for kind in ("functions", "layers"):
        (directory / kind).mkdir()
        for stage in ("ocr", "summarize", "classify", "sweep"):
            (directory / kind / f"{stage}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (directory / "ARCHITECTURE").write_text("arm64\n")
    return directory


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


# -- values as they come back, decoded for assertions -----------------------------------------


@dataclass(frozen=True)
class Secret:
    value: Any


@dataclass(frozen=True)
class OutputValue:
    value: Any
    known: bool
    secret: bool
    dependencies: tuple[str, ...]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN_VALUE = _Unknown()


def decode(value: Any) -> Any:
    """A wire value as Python: Secret, OutputValue and UNKNOWN_VALUE markers, archives as their
    signature dicts (`{"path": ...}`, `{"assets": ...}`), numbers as floats."""
    if isinstance(value, struct_pb2.Struct):
        value = json_format.MessageToDict(value)
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    signature = value.get(SIG)
    if signature == rpc._special_secret_sig:
        return Secret(decode(value.get("value")))
    if signature == rpc._special_output_value_sig:
        return OutputValue(
            value=decode(value.get("value")),
            known="value" in value,
            secret=bool(value.get("secret")),
            dependencies=tuple(value.get("dependencies", ())),
        )
    decoded = {key: decode(item) for key, item in value.items() if key != SIG}
    if signature is not None:  # an asset or an archive
        decoded["signature"] = signature
    return decoded


def plain(value: Any) -> Any:
    """The value without secret or output wrappers (unknowns stay UNKNOWN_VALUE)."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, OutputValue):
        return plain(value.value) if value.known else UNKNOWN_VALUE
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Secret) or (isinstance(value, OutputValue) and value.secret)


def holds_secret(value: Any) -> bool:
    """The value is secret, or holds one (the SDK may mark a whole map or a single entry)."""
    return any(is_secret(item) for item in walk(value))


def dependencies_of(value: Any) -> set[str]:
    """Every dependency carried by output values inside `value`."""
    if isinstance(value, OutputValue):
        return set(value.dependencies) | dependencies_of(value.value)
    if isinstance(value, Secret):
        return dependencies_of(value.value)
    if isinstance(value, list):
        return set().union(*(dependencies_of(item) for item in value))
    if isinstance(value, dict):
        return set().union(*(dependencies_of(item) for item in value.values()))
    return set()


# -- the engine's services --------------------------------------------------------------------


@dataclass
class Registration:
    """One RegisterResource the plugin sent, decoded."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    delete_before_replace: bool
    outputs: dict[str, Any] = field(default_factory=dict)


class MockEngine(engine_pb2_grpc.EngineServicer):
    """The engine's logging endpoint: keeps every message the plugin logs."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()

    def Log(self, request: Any, context: Any) -> Any:
        with self._lock:
            self.messages.append((request.severity, request.urn, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=STACK_URN)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()

    def errors(self) -> list[str]:
        return [message for severity, _, message in self.messages if severity == engine_pb2.ERROR]


class MockMonitor(resource_pb2_grpc.ResourceMonitorServicer):
    """The engine's resource monitor: records every registration the plugin makes.

    On `up` it answers like AWS (ids, ARNs, URLs from mockrun's RealisticMocks); during a
    preview it answers as the engine does for resources not created yet: no id, and no
    computed outputs, which the SDK then treats as unknown.
    """

    FEATURES = (
        resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
        resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
        resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES,
        resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
        resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
    )
    FEATURE_NAMES = ("secrets", "resourceReferences", "outputValues", "aliasSpecs", "deletedWith")

    def __init__(self) -> None:
        self.preview = False
        self.registrations: list[Registration] = []
        self.duplicates: list[str] = []
        self.invokes: list[tuple[str, dict[str, Any], str]] = []
        self.providers: dict[str, dict[str, Any]] = {}  # explicit providers the consumer made
        self._mocks = RealisticMocks()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every registration (each test is a fresh deployment of the stack)."""
        with self._lock:
            self.registrations.clear()
            self.duplicates.clear()
            self.invokes.clear()
            self.providers.clear()

    # -- queries ------------------------------------------------------------------------

    def get(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def descendants(self, urn: str) -> list[Registration]:
        children = [r for r in self.registrations if r.parent == urn]
        return children + [d for child in children for d in self.descendants(child.urn)]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def add_provider(self, name: str, package: str, inputs: Mapping[str, Any]) -> str:
        """Register an explicit provider the way a consumer program does; returns its reference."""
        urn = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:{package}::{name}"
        resource_id = f"{name}-id"
        self.providers[urn] = {"id": resource_id, "inputs": dict(inputs)}
        return provider_reference(urn, resource_id)

    # -- gRPC methods -------------------------------------------------------------------

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return resource_pb2.DeploymentInfo(supportedFeatures=list(self.FEATURES))

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in self.FEATURE_NAMES)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        urn = _urn(request.parent, request.type, request.name)
        inputs = decode(request.object)
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            provider=request.provider,
            inputs=inputs,
            dependencies=list(request.dependencies),
            property_dependencies={
                k: list(v.urns) for k, v in request.propertyDependencies.items()
            },
            protect=request.protect,
            delete_before_replace=request.deleteBeforeReplace,
        )
        with self._lock:
            if any(r.urn == urn for r in self.registrations):
                self.duplicates.append(urn)
            self.registrations.append(registration)
        response = resource_pb2.RegisterResourceResponse(urn=urn)
        if not request.custom:
            return response
        response.object.CopyFrom(request.object)
        if not self.preview:
            resource_id, state = self._mocks.new_resource(
                MockResourceArgs(request.type, request.name, plain(inputs), custom=True)
            )
            response.id = resource_id
            computed = {k: v for k, v in state.items() if k not in inputs}
            response.object.update(computed)
        return response

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        outputs = decode(request.outputs)
        with self._lock:
            for registration in self.registrations:
                if registration.urn == request.urn:
                    registration.outputs = outputs
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> Any:
        args = plain(decode(request.args))
        with self._lock:
            self.invokes.append((request.tok, args, request.provider))
        if request.tok == "pulumi:pulumi:getResource":  # rehydrating an explicit provider
            if args["urn"] not in self.providers:  # abort raises: the engine's error
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown resource {args['urn']}")
            provider = self.providers[args["urn"]]
            result = {"urn": args["urn"], "id": provider["id"], "state": provider["inputs"]}
        else:
            result, _ = self._mocks.call(MockCallArgs(request.tok, args, request.provider))
        response = resource_pb2.ResourceInvokeResponse()
        getattr(response, "return").update(result)
        return response

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return resource_pb2.RegisterPackageResponse(ref=f"{request.name}-package-ref")


def _urn(parent: str, type_: str, name: str) -> str:
    """The engine's URN: a child's type is qualified by its parent's (not the stack's)."""
    qualified = type_
    if parent and parent != STACK_URN:
        parent_type = parent.split("::")[2]
        qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


@dataclass
class Engine:
    """The engine's endpoints, served on loopback for one test module."""

    engine: MockEngine
    monitor: MockMonitor
    engine_address: str
    monitor_address: str
    server: grpc.Server

    @classmethod
    def serve(cls) -> Engine:
        engine, monitor = MockEngine(), MockMonitor()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(monitor, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        address = f"127.0.0.1:{port}"
        return cls(engine, monitor, address, address, server)

    def stop(self) -> None:
        self.server.stop(grace=None)


# -- the plugin process -----------------------------------------------------------------------


class PluginError(Exception):
    """The plugin did not start (its stderr is in the message)."""


@dataclass
class Plugin:
    process: subprocess.Popen[bytes]
    channel: grpc.Channel
    stub: provider_pb2_grpc.ResourceProviderStub
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait(timeout=10)
        self.stderr_path.unlink(missing_ok=True)


def start_plugin(
    engine_address: str,
    cwd: Path,
    python: str = sys.executable,
    plugin_dir: Path = PLUGIN_DIR,
    env: Mapping[str, str] | None = None,
) -> Plugin:
    """Start the plugin as the language host's RunPlugin does and connect to the port it
    prints. `cwd` is the consumer project's directory (the engine's working directory)."""
    stderr_file = tempfile.NamedTemporaryFile(prefix="plugin-stderr-", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [python, str(plugin_dir.resolve()), engine_address],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        env=dict(env) if env is not None else _venv_environment(python),
    )
    stderr_file.close()
    stderr_path = Path(stderr_file.name)
    port = _read_port(process, stderr_path)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=PORT_TIMEOUT_SECONDS)
    return Plugin(process, channel, provider_pb2_grpc.ResourceProviderStub(channel), stderr_path)


def _venv_environment(python: str) -> dict[str, str]:
    """The language host activates the plugin's virtualenv (toolchain.ActivateVirtualEnv)."""
    venv = Path(python).parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _read_port(process: subprocess.Popen[bytes], stderr_path: Path) -> int:
    """The first stdout line is the port; the engine fails the plugin if none comes."""
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(PORT_TIMEOUT_SECONDS)
    text = line[0].decode().strip() if line else ""
    if not text.isdigit():
        process.kill()
        process.wait(timeout=10)
        raise PluginError(
            f"the plugin printed no port ({text!r}); stderr:\n"
            + stderr_path.read_text(errors="replace")
        )
    return int(text)


# -- the engine's calls -----------------------------------------------------------------------


def configure(plugin: Plugin) -> Any:
    """CheckConfig then Configure, as the engine does for a package's default provider.
    A component host need not implement CheckConfig: the engine then keeps the inputs as
    they are (UNIMPLEMENTED is not an error)."""
    provider_urn = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:docpipe::default"
    try:
        plugin.stub.CheckConfig(
            provider_pb2.CheckRequest(urn=provider_urn, olds=to_struct({}), news=to_struct({}))
        )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
    return plugin.stub.Configure(
        provider_pb2.ConfigureRequest(
            variables={}, args=to_struct({}), acceptSecrets=True, acceptResources=True
        )
    )


class ConstructError(Exception):
    """Construct failed; the message is what the engine would show (the plugin's error, and
    each property error the host reports in the status details)."""

    @classmethod
    def from_rpc(cls, error: Any) -> ConstructError:
        lines = [f"{error.code().name}: {error.details()}"]
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for detail in status.details:
                    found = errors_pb2.InputPropertiesError()
                    if detail.Unpack(found):
                        lines += [f"{e.property_path}: {e.reason}" for e in found.errors]
        return cls("\n".join(lines))


@dataclass
class Constructed:
    urn: str
    state: dict[str, Any]
    state_dependencies: dict[str, list[str]]
    children: list[Registration]


def construct(
    engine: Engine,
    plugin: Plugin,
    type_: str,
    name: str,
    inputs: Mapping[str, Any],
    *,
    preview: bool = False,
    providers: Mapping[str, str] | None = None,
    dependencies: tuple[str, ...] = (),
) -> Constructed:
    """Construct one component; input dependencies are those of its output values."""
    engine.monitor.preview = preview
    decoded = {key: decode(value) for key, value in inputs.items()}
    request = provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        organization="organization",
        dryRun=preview,
        parallel=16,
        monitorEndpoint=engine.monitor_address,
        type=type_,
        name=name,
        parent=STACK_URN,
        inputs=to_struct(inputs),
        inputDependencies={
            key: provider_pb2.ConstructRequest.PropertyDependencies(
                urns=sorted(dependencies_of(value))
            )
            for key, value in decoded.items()
            if dependencies_of(value)
        },
        providers=dict(providers or {}),
        dependencies=list(dependencies),
        accepts_output_values=True,
    )
    try:
        response = plugin.stub.Construct(request)
    except grpc.RpcError as error:
        raise ConstructError.from_rpc(error) from None
    return Constructed(
        urn=response.urn,
        state=decode(response.state),
        state_dependencies={k: list(v.urns) for k, v in response.stateDependencies.items()},
        children=engine.monitor.descendants(response.urn),
    )


def by_name(children: list[Registration]) -> dict[str, Registration]:
    return {child.name: child for child in children}


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in `value` (for searching decoded inputs)."""
    yield value
    if isinstance(value, Secret | OutputValue):
        yield from walk(value.value)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
