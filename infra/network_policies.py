"""NetworkPolicies: function pods are closed by default, and only what the platform needs is open.

Without policies every function pod could reach every other pod, Service and node of the
cluster: another function's pod or NodePort (skipping `auth: token`, which is checked only on
the control plane's path), the control plane, MongoDB, the API server, and the instance
metadata service with the node role's credentials. What is declared here (docs/adr/0051):

* **Ingress to function pods** (selected by the label every function pod carries): nothing,
  except TCP to the function port from the control plane's pods (its `/endpoint` proxy) and
  from the VPC's addresses — the shared ALB reaches functions in instance mode, through a
  NodePort, so after kube-proxy the source is a node's address. Kubelet probes come from the
  node itself, which the VPC CNI's agent (like most enforcing CNIs) always admits.
* **Egress of function pods**: DNS to the cluster's resolver, and `functionEgressCidrs`
  (default: the internet) minus what a function may never reach — the VPC (nodes, pods, load
  balancers, the API server's private endpoint), the Service ranges EKS picks from (every
  ClusterIP, `kubernetes.default` included) and link-local addresses (instance metadata).
  An empty list closes egress to everything but DNS.
  With the in-cluster control plane, also TCP to its pods' port, directly or through its
  Service (whose port equals the pods'): the pods' init container downloads built packages
  from `/internal/artifacts` (docs/adr/0048). That opens the control plane's HTTP API to
  function code, where every route but `/endpoint` and the sign-in page needs a token.
* **MongoDB** admits only the control plane's pods (infra/mongodb.py).

Enforcement on EKS is the VPC CNI's network policy agent, which the stack switches on by
managing the `vpc-cni` add-on with `enableNetworkPolicy` (`build_policy_enforcement`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS
from infra.control_plane_config import PORT as CONTROL_PLANE_PORT
from infra.errors import ConfigError, require

if TYPE_CHECKING:
    from infra.cluster import Cluster
    from infra.config import StackConfig

FUNCTION_POD_LABELS = {"app.kubernetes.io/name": "lambdaclone-function"}
"""On every function pod (engine/kubernetes/names.py `APP_LABEL`/`APP_VALUE`). The base stack
may not import the engine, so a unit test checks that the two agree."""
FUNCTION_PORT = 8080
"""The function container's port (`names.CONTAINER_PORT`): a policy sees the pod's port, after
the Service's or the NodePort's translation."""
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
"""CoreDNS's pods on EKS (the add-on keeps the historical label)."""
DNS_PORT = 53
EKS_SERVICE_CIDRS = ("10.100.0.0/16", "172.20.0.0/16")
"""EKS takes the Service range from one of these when none is given (this stack gives none)."""
LINK_LOCAL = "169.254.0.0/16"
"""Instance metadata (169.254.169.254), the Pod Identity agent, the VPC resolver's alias."""
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
POLICY_PREFIX = "lambdaclone-functions"

Labels = Mapping[str, str]


def closed_ranges(vpc_cidr: str) -> list[ipaddress.IPv4Network]:
    """Where a function never connects to, whatever `functionEgressCidrs` allows."""
    blocks = (ipaddress.IPv4Network(c) for c in (vpc_cidr, *EKS_SERVICE_CIDRS, LINK_LOCAL))
    return list(ipaddress.collapse_addresses(blocks))


def egress_blocks(allowed: Sequence[str], vpc_cidr: str) -> list[tuple[str, list[str]]]:
    """Each allowed block with the closed ranges inside it as its `except`; a block that lies
    inside a closed range would open it, and is refused."""
    closed = closed_ranges(vpc_cidr)
    blocks: list[tuple[str, list[str]]] = []
    for text in allowed:
        try:
            block = ipaddress.ip_network(text)
        except ValueError as exc:
            raise ConfigError(f"functionEgressCidrs: {text!r} is not a CIDR block: {exc}") from exc
        if not isinstance(block, ipaddress.IPv4Network):
            raise ConfigError(f"functionEgressCidrs: {text} is not IPv4 (the cluster is IPv4)")
        inside = [str(c) for c in closed if block.subnet_of(c)]
        require(
            not inside,
            f"functionEgressCidrs: {text} lies inside {', '.join(inside)}, which functions may "
            "never reach (the VPC, the Service range, link-local addresses)",
        )
        blocks.append((str(block), [str(c) for c in closed if c.subnet_of(block)]))
    return blocks


def _selector(labels: Labels) -> k8s.meta.v1.LabelSelectorArgs:
    return k8s.meta.v1.LabelSelectorArgs(match_labels=dict(labels))


def _pods(namespace: str, labels: Labels) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """Pods with `labels` in `namespace` (both selectors in one peer: an AND)."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=_selector({NAMESPACE_LABEL: namespace}), pod_selector=_selector(labels)
    )


def _block(cidr: str, excepted: Sequence[str] = ()) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr, except_=list(excepted) or None)
    )


def _ports(port: int, *protocols: str) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=p) for p in protocols]


def function_policy_specs(
    config: StackConfig,
) -> dict[str, k8s.networking.v1.NetworkPolicySpecArgs]:
    """The functions namespace's policies by name. Policies add up: a pod selected by any of
    them admits (sends) only what one of their rules allows."""
    fn = _selector(FUNCTION_POD_LABELS)
    from_platform = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[_pods(config.system_namespace, CONTROL_PLANE_LABELS)],
            ports=_ports(FUNCTION_PORT, "TCP"),
        ),
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[_block(config.vpc_cidr)], ports=_ports(FUNCTION_PORT, "TCP")
        ),
    ]
    specs = {
        "default-deny": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=fn, policy_types=["Ingress", "Egress"]
        ),
        "from-platform": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=fn, policy_types=["Ingress"], ingress=from_platform
        ),
        "dns": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=fn,
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[_pods(DNS_NAMESPACE, DNS_LABELS)], ports=_ports(DNS_PORT, "UDP", "TCP")
                )
            ],
        ),
    }
    blocks = egress_blocks(config.function_egress_cidrs, config.vpc_cidr)
    if blocks:
        specs["egress"] = k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=fn,
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[_block(cidr, excepted) for cidr, excepted in blocks]
                )
            ],
        )
    if config.deploy_control_plane:
        specs["to-control-plane"] = k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=fn,
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[_pods(config.system_namespace, CONTROL_PLANE_LABELS)],
                    ports=_ports(CONTROL_PLANE_PORT, "TCP"),
                )
            ],
        )
    return specs


def build_function_policies(
    config: StackConfig, provider: k8s.Provider, functions_namespace: pulumi.Input[str]
) -> list[k8s.networking.v1.NetworkPolicy]:
    """The policies of `function_policy_specs` in the functions namespace (`functions_namespace`
    is the Namespace's name output, so they wait for it)."""
    opts = pulumi.ResourceOptions(provider=provider)
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{POLICY_PREFIX}-{suffix}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{POLICY_PREFIX}-{suffix}",
                namespace=functions_namespace,
                labels={"app.kubernetes.io/part-of": "lambdaclone"},
            ),
            spec=spec,
            opts=opts,
        )
        for suffix, spec in function_policy_specs(config).items()
    ]


def build_policy_enforcement(
    config: StackConfig, cluster: Cluster, aws_opts: pulumi.ResourceOptions
) -> aws.eks.Addon:
    """The `vpc-cni` add-on, managed by the stack so that its network policy agent runs:
    without it EKS accepts NetworkPolicies and enforces none. Creating it takes over the
    self-managed CNI EKS installs (`OVERWRITE`); later updates keep changes made in the
    cluster (`PRESERVE`), such as `NETWORK_POLICY_ENFORCING_MODE=strict`."""
    return aws.eks.Addon(
        f"{config.cluster_name}-vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="PRESERVE",
        opts=aws_opts,
    )
