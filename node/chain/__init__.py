"""The chain layer: compile, connect, deploy, and typed clients for meritnet's contracts."""

from node.chain.compiler import Artifact, compile_contracts
from node.chain.contracts import Phase, Role, TaskConfig
from node.chain.deploy import DeployParams, Deployment, Network, deploy, ensure_deployed, load_deployment
from node.chain.provider import DEFAULT_URI, advance_time, connect, is_in_process
from node.chain.transactor import Sender, Transactor

__all__ = [
    "Artifact",
    "compile_contracts",
    "Phase",
    "Role",
    "TaskConfig",
    "DeployParams",
    "Deployment",
    "Network",
    "deploy",
    "ensure_deployed",
    "load_deployment",
    "DEFAULT_URI",
    "advance_time",
    "connect",
    "is_in_process",
    "Sender",
    "Transactor",
]
