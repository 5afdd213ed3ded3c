"""How the in-cluster control plane is reached: a load balancer of its own, closed by default.

The functions' IngressClass pins every function Ingress to one internet-facing ALB, which is
how `/endpoint/<key>` stays public. The control plane never joins it: it has its own
IngressClass (`<ingressClass>-control-plane`) whose IngressClassParams — which Ingress
annotations cannot override — fix its ALB's scheme, group, allowed CIDRs and TLS policy, and
admit only Ingresses of the system namespace.

* By default the ALB is `internal` and admits only the VPC (or `controlPlaneAllowedCidrs`).
* `controlPlanePublic: true` makes it `internet-facing`, but only together with the CIDRs
  allowed in, the host names it serves and an ACM certificate (infra/control_plane_config.py
  refuses anything less at preview): it then listens on 443 with that certificate, and port 80
  only redirects to 443. An internal ALB gets the same HTTPS setup when given a certificate.
* With `controlPlaneHosts` the Ingress has one rule per host, so the ALB itself answers 404 for
  any other Host before a request reaches the pod.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.control_plane_config import LABELS, NAME, inbound_cidrs

ALB_CONTROLLER = "ingress.k8s.aws/alb"
PARAMS_API_GROUP = "elbv2.k8s.aws"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HEALTH_CHECK_PATH = "/console/login"
"""A page that answers 200 without a token (the sign-in form)."""


def control_plane_ingress_class(config: StackConfig) -> str:
    return f"{config.ingress_class}-control-plane"


def control_plane_group(config: StackConfig) -> str:
    return f"{config.ingress_group}-control-plane"


def scheme(config: StackConfig) -> str:
    return "internet-facing" if config.control_plane_public else "internal"


def ingress_class_params_spec(config: StackConfig) -> dict[str, object]:
    """The load balancer every control-plane Ingress gets, whatever its annotations say."""
    spec: dict[str, object] = {
        "scheme": scheme(config),
        "group": {"name": control_plane_group(config)},
        "inboundCIDRs": list(inbound_cidrs(config)),
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": [config.system_namespace],
                }
            ]
        },
    }
    if config.control_plane_certificate_arn:
        spec["sslPolicy"] = TLS_POLICY
    return spec


def build_control_plane_ingress_class(
    config: StackConfig, provider: k8s.Provider, depends_on: Sequence[pulumi.Resource]
) -> k8s.networking.v1.IngressClass:
    """The control plane's IngressClass and its IngressClassParams (a CRD of the load
    balancer controller: `depends_on` holds its Helm release)."""
    name = control_plane_ingress_class(config)
    opts = pulumi.ResourceOptions(provider=provider, depends_on=list(depends_on))
    params = k8s.apiextensions.CustomResource(
        f"{NAME}-ingress-class-params",
        api_version=f"{PARAMS_API_GROUP}/v1beta1",
        kind="IngressClassParams",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=LABELS),
        spec=ingress_class_params_spec(config),
        opts=opts,
    )
    return k8s.networking.v1.IngressClass(
        f"{NAME}-ingress-class",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=LABELS),
        spec=k8s.networking.v1.IngressClassSpecArgs(
            controller=ALB_CONTROLLER,
            parameters=k8s.networking.v1.IngressClassParametersReferenceArgs(
                api_group=PARAMS_API_GROUP, kind="IngressClassParams", name=name
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[params])),
    )


def control_plane_url(config: StackConfig, hostname: pulumi.Output[str]) -> pulumi.Output[str]:
    """Where operators reach it: the first configured host, else the ALB's own name; https
    when it has a certificate."""
    scheme_ = "https" if config.control_plane_certificate_arn else "http"
    if config.control_plane_hosts:
        return pulumi.Output.from_input(f"{scheme_}://{config.control_plane_hosts[0]}")
    return hostname.apply(lambda name: f"{scheme_}://{name}" if name else "")


def ingress_annotations(config: StackConfig) -> dict[str, str]:
    """Listeners and health check: HTTPS with a certificate (HTTP only redirects), else HTTP
    (internal only: a public control plane without a certificate is refused earlier)."""
    prefix = "alb.ingress.kubernetes.io"
    annotations = {
        f"{prefix}/target-type": "ip",
        f"{prefix}/healthcheck-path": HEALTH_CHECK_PATH,
        f"{prefix}/success-codes": "200",
    }
    if config.control_plane_certificate_arn:
        annotations[f"{prefix}/certificate-arn"] = config.control_plane_certificate_arn
        annotations[f"{prefix}/listen-ports"] = json.dumps([{"HTTP": 80}, {"HTTPS": 443}])
        annotations[f"{prefix}/ssl-redirect"] = "443"
    else:
        annotations[f"{prefix}/listen-ports"] = json.dumps([{"HTTP": 80}])
    return annotations


def build_ingress(
    config: StackConfig,
    service: k8s.core.v1.Service,
    ingress_class: str,
    opts: pulumi.ResourceOptions,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.networking.v1.Ingress:
    """`/` of each configured host (or of any host, when none is) → the control plane."""
    paths = k8s.networking.v1.HTTPIngressRuleValueArgs(
        paths=[
            k8s.networking.v1.HTTPIngressPathArgs(
                path="/",
                path_type="Prefix",
                backend=k8s.networking.v1.IngressBackendArgs(
                    service=k8s.networking.v1.IngressServiceBackendArgs(
                        name=service.metadata.name,
                        port=k8s.networking.v1.ServiceBackendPortArgs(name="http"),
                    )
                ),
            )
        ]
    )
    hosts: Sequence[str | None] = config.control_plane_hosts or (None,)
    return k8s.networking.v1.Ingress(
        NAME,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=NAME,
            namespace=config.system_namespace,
            labels=LABELS,
            annotations=ingress_annotations(config),
        ),
        spec=k8s.networking.v1.IngressSpecArgs(
            ingress_class_name=ingress_class,
            rules=[k8s.networking.v1.IngressRuleArgs(host=host, http=paths) for host in hosts],
        ),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[service, *depends_on])
        ),
    )
