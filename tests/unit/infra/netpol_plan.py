"""The EKS-like address plan the NetworkPolicy tests ask their questions on (docs/adr/0051), and
the registered policies as the model (tests/unit/infra/netpol_model.py) reads them."""

from __future__ import annotations

from engine.kubernetes import names
from infra.control_plane_config import LABELS as CONTROL_PLANE_LABELS
from tests.fixtures.infra_stack import StackRun
from tests.unit.infra.netpol_model import Address, Pod, Policies, Service

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
FUNCTIONS_NS = "lambdaclone-functions"
SYSTEM_NS = "lambdaclone-system"

# The default VPC is 10.0.0.0/16; EKS then takes the Service range 172.20.0.0/16.
FUNCTION = Pod(FUNCTIONS_NS, names.labels("fn-aaaaaaaaaaaaaaaaaaaaaa"), "10.0.3.21")
OTHER_FUNCTION = Pod(FUNCTIONS_NS, names.labels("fn-bbbbbbbbbbbbbbbbbbbbbb"), "10.0.9.33")
CONTROL_PLANE = Pod(SYSTEM_NS, CONTROL_PLANE_LABELS, "10.0.5.40")
MONGODB_LABELS = {"app.kubernetes.io/name": "mongodb", "app.kubernetes.io/part-of": "lambdaclone"}
MONGODB = Pod(SYSTEM_NS, MONGODB_LABELS, "10.0.6.50")
SYSTEM_OTHER = Pod(SYSTEM_NS, {"app": "debug"}, "10.0.6.51")
ELSEWHERE = Pod("default", {"app": "debug"}, "10.0.8.70")
KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "10.0.4.60")
KUBE_PROXY = Pod("kube-system", {"k8s-app": "kube-proxy"}, "10.0.4.61")
NODE = Address("10.0.3.10")
"""A node: the source the load balancer's traffic has after kube-proxy (instance mode)."""
ALB_INTERFACE = Address("10.0.224.17")
"""A load balancer interface in a public subnet (what `ip` target mode would send from)."""
API_SERVER_ENI = Address("10.0.2.200")
KUBERNETES_SERVICE = Address("172.20.0.1")
DNS_SERVICE = Service("172.20.0.10", KUBE_DNS)
CONTROL_PLANE_SERVICE = Service("172.20.14.2", CONTROL_PLANE)
MONGODB_SERVICE = Service("172.20.14.3", MONGODB)
OTHER_FUNCTION_SERVICE = Service("172.20.30.4", OTHER_FUNCTION)
INSTANCE_METADATA = Address("169.254.169.254")
S3 = Address("52.216.8.1")
INTERNET_HOST = Address("93.184.215.14")
NODE_PORT = 31234
PLATFORM = {
    "mongodb": (MONGODB, 27017),
    "mongodb-service": (MONGODB_SERVICE, 27017),
    "api-server": (API_SERVER_ENI, 443),
    "kubernetes-service": (KUBERNETES_SERVICE, 443),
    "kubelet": (NODE, 10250),
    "instance-metadata": (INSTANCE_METADATA, 80),
}
"""What a function never reaches, whatever else is open (the control plane: see its tests)."""


def policies_of(run: StackRun) -> Policies:
    return Policies([r.inputs for r in run.of_type(NETWORK_POLICY)])
