# Real Kubernetes node for the test cluster (tests/fixtures/real_node.py): a container runtime,
# CNI plugins and the packet-filter tools kube-proxy drives, all from Debian's packages. kubelet and
# kube-proxy themselves come from the kubernetes build. The sandbox ("pause") image is assembled
# at run time from Debian's static catatonit, so nothing here is compiled. The image builder and
# the local registry the node pulls from are Debian packages too.
# shellcheck shell=bash
EXTRA_TOOLS+=(kube_node)

# kube_node_package PACKAGE PATH: Debian's PACKAGE, unless PATH (a file of it) is there already.
kube_node_package() {
  if [ -e "$2" ]; then
    say "$1: found ($2)"
    return
  fi
  apt_install "$1"
}

kube_node_check_series() {
  local have
  have=$(containerd --version 2>/dev/null | awk '{print $3}')
  case "$have" in
    "$NODE_CONTAINERD_SERIES".*) ;;
    *) say "warning: containerd $have; the real node is tested with $NODE_CONTAINERD_SERIES.x" ;;
  esac
}

ensure_kube_node() {
  kube_node_package containerd /usr/bin/containerd
  kube_node_package runc /usr/sbin/runc
  kube_node_package containernetworking-plugins /usr/lib/cni/bridge
  kube_node_package iptables /usr/sbin/iptables
  kube_node_package ipset /usr/sbin/ipset          # `kube-proxy --cleanup` fails without it
  kube_node_package conntrack /usr/sbin/conntrack
  kube_node_package catatonit /usr/bin/catatonit   # static: the pause image's only file
  kube_node_package busybox-static /bin/busybox    # static: the smoke test's image
  # The images the real node runs: built by tools/images/build.py (mmdebstrap), pushed with
  # skopeo to a local docker-registry (tests/fixtures/registry.py).
  kube_node_package mmdebstrap /usr/bin/mmdebstrap
  kube_node_package skopeo /usr/bin/skopeo
  kube_node_package docker-registry /usr/bin/docker-registry
  kube_node_check_series
}
