"""A small model of NetworkPolicy semantics, to ask of the policies the stack registers what a
reviewer asks: may this pod (or address) open a connection to that one, on this port?

It follows the Kubernetes rules (a pod selected by a policy of a direction is isolated in that
direction; policies add up; a peer's namespace and pod selectors in one entry both have to
match) and the VPC CNI's addressing: pods have VPC addresses, and an `ipBlock` matches any
address in it, pods' included. A connection to a Service's ClusterIP is judged on the client's
side before kube-proxy rewrites it, as the VPC CNI's agent does (it attaches to the pod's
host-side interface): an `ipBlock` sees the ClusterIP, and a selector that matches the
Service's pods covers it too (the policy controller adds the ClusterIPs of the Services in front
of the selected pods; their port must equal the pods' port). The pod behind it then judges the
connection as coming from the client. Only `matchLabels` selectors are modelled; anything else
fails loudly rather than being judged wrongly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]
    ip: str


@dataclass(frozen=True)
class Address:
    """Anything that is not a pod: a node, a load balancer, a ClusterIP, an internet host."""

    ip: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A ClusterIP in front of one pod, on the same port."""

    ip: str
    backend: Pod


Endpoint = Pod | Address | Service


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return True
    if set(selector) - {"matchLabels"}:
        raise NotImplementedError(f"selector not modelled: {selector}")
    wanted = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def _in_block(block: Mapping[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(address in ipaddress.ip_network(c) for c in block.get("except") or ())


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return _in_block(peer["ipBlock"], other.ip)
    if isinstance(other, Service):
        other = other.backend
    if not isinstance(other, Pod):
        return False
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        in_namespace = other.namespace == policy_namespace
    else:
        in_namespace = _selects(namespace_selector, {NAMESPACE_LABEL: other.namespace})
    return in_namespace and _selects(peer.get("podSelector"), other.labels)


def _port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports)


class Policies:
    """The registered NetworkPolicies' inputs (metadata and spec, camelCase)."""

    def __init__(self, policies: Sequence[Mapping[str, Any]]) -> None:
        self.policies = list(policies)

    def _isolating(self, pod: Pod, direction: str) -> list[Mapping[str, Any]]:
        return [
            policy
            for policy in self.policies
            if policy["metadata"]["namespace"] == pod.namespace
            and direction in policy["spec"]["policyTypes"]
            and _selects(policy["spec"]["podSelector"], pod.labels)
        ]

    def _direction_allows(
        self, pod: Pod, other: Endpoint, port: int, protocol: str, direction: str
    ) -> bool:
        policies = self._isolating(pod, direction)
        if not policies:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in policies:
            for rule in policy["spec"].get(key) or ():
                peers = rule.get(peers_key)
                peer_ok = not peers or any(
                    _peer_matches(peer, pod.namespace, other) for peer in peers
                )
                if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                    return True
        return False

    def sends(self, src: Pod | Address, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether `src`'s egress policies let the connection out."""
        if not isinstance(src, Pod):
            return True
        return self._direction_allows(src, dst, port, protocol, "Egress")

    def admits(self, src: Pod | Address, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether `dst`'s ingress policies (a Service's: its pod's) let the connection in."""
        if isinstance(dst, Service):
            dst = dst.backend
        if not isinstance(dst, Pod):
            return True
        return self._direction_allows(dst, src, port, protocol, "Ingress")

    def allows(self, src: Pod | Address, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self.sends(src, dst, port, protocol) and self.admits(src, dst, port, protocol)
