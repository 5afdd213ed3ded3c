"""The VPC: public subnets for the shared ALB and NAT, private subnets for the nodes and pods.

The address plan is a pure function of the VPC CIDR and the AZ index, so adding an AZ later
never renumbers (and so never replaces) an existing subnet:

* private subnet `i` is the `i`-th block of one eighth of the VPC (a /19 in a /16): the VPC CNI
  gives every pod a VPC address, so the node subnets get nearly all of the space;
* public subnet `i` is the `i`-th /22-equivalent inside the last eighth, which only holds load
  balancer and NAT interfaces.

Subnets carry the tags the AWS Load Balancer Controller uses to discover them
(`kubernetes.io/role/elb` for internet-facing, `kubernetes.io/role/internal-elb` for internal).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig

PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class Network:
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    availability_zones: tuple[str, ...]


@dataclass(frozen=True)
class SubnetPlan:
    availability_zone: str
    public_cidr: str
    private_cidr: str


def plan_subnets(vpc_cidr: str, zones: tuple[str, ...]) -> list[SubnetPlan]:
    """CIDRs of the public and private subnet of each AZ (see the module docstring)."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    public_blocks = list(eighths[-1].subnets(prefixlen_diff=3))
    return [
        SubnetPlan(zone, str(public_blocks[index]), str(eighths[index]))
        for index, zone in enumerate(zones)
    ]


def resolve_zones(config: StackConfig, opts: pulumi.InvokeOptions) -> tuple[str, ...]:
    """The configured AZs, or the first `azCount` AZs of the region that are available.

    Subnets must be known when the program runs (their count decides how many resources exist),
    so this uses the synchronous invoke rather than an Output.
    """
    if config.availability_zones:
        return config.availability_zones
    result = aws.get_availability_zones(
        state="available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
        ],
        opts=opts,
    )
    names = tuple(sorted(result.names))
    if len(names) < config.az_count:
        raise pulumi.RunError(
            f"region {config.region} has only {len(names)} usable AZs, azCount is {config.az_count}"
        )
    return names[: config.az_count]


def build_network(
    config: StackConfig, zones: tuple[str, ...], aws_opts: pulumi.ResourceOptions
) -> Network:
    """VPC, internet gateway, NAT gateway(s), subnets and routes for `zones`."""
    name = config.cluster_name
    cluster_tag = {f"kubernetes.io/cluster/{name}": "shared"}
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=config.vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={"Name": f"{name}-vpc"},
        opts=aws_opts,
    )
    igw = aws.ec2.InternetGateway(
        f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=aws_opts
    )
    public_rt = aws.ec2.RouteTable(
        f"{name}-public",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
        tags={"Name": f"{name}-public"},
        opts=aws_opts,
    )

    public_ids: list[pulumi.Output[str]] = []
    private_ids: list[pulumi.Output[str]] = []
    nat_ids: list[pulumi.Output[str]] = []
    for plan in plan_subnets(config.vpc_cidr, zones):
        zone = plan.availability_zone
        public = aws.ec2.Subnet(
            f"{name}-public-{zone}",
            vpc_id=vpc.id,
            cidr_block=plan.public_cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": f"{name}-public-{zone}", PUBLIC_ELB_TAG: "1", **cluster_tag},
            opts=aws_opts,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{zone}",
            subnet_id=public.id,
            route_table_id=public_rt.id,
            opts=aws_opts,
        )
        public_ids.append(public.id)
        if not nat_ids or not config.single_nat_gateway:
            nat_ids.append(_nat_gateway(f"{name}-nat-{zone}", public.id, aws_opts, igw))

        private = aws.ec2.Subnet(
            f"{name}-private-{zone}",
            vpc_id=vpc.id,
            cidr_block=plan.private_cidr,
            availability_zone=zone,
            tags={"Name": f"{name}-private-{zone}", INTERNAL_ELB_TAG: "1", **cluster_tag},
            opts=aws_opts,
        )
        private_rt = aws.ec2.RouteTable(
            f"{name}-private-{zone}",
            vpc_id=vpc.id,
            routes=[
                aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[-1])
            ],
            tags={"Name": f"{name}-private-{zone}"},
            opts=aws_opts,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{zone}",
            subnet_id=private.id,
            route_table_id=private_rt.id,
            opts=aws_opts,
        )
        private_ids.append(private.id)

    return Network(
        vpc_id=vpc.id,
        public_subnet_ids=public_ids,
        private_subnet_ids=private_ids,
        availability_zones=zones,
    )


def _nat_gateway(
    name: str,
    subnet_id: pulumi.Output[str],
    aws_opts: pulumi.ResourceOptions,
    igw: aws.ec2.InternetGateway,
) -> pulumi.Output[str]:
    eip = aws.ec2.Eip(name, domain="vpc", tags={"Name": name}, opts=aws_opts)
    nat = aws.ec2.NatGateway(
        name,
        allocation_id=eip.id,
        subnet_id=subnet_id,
        tags={"Name": name},
        opts=pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(depends_on=[igw])),
    )
    return nat.id
