"""The Kubernetes target: one Pulumi stack per function, driven by the Automation API.

Pure parts (names, manifests, event translation, configuration) are separate from the adapters
that run the Pulumi CLI (`stacks`, `recovery`, `target`); see docs/kubernetes-target.md.
"""
