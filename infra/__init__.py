"""The lambdaclone base stack: the shared AWS and Kubernetes infrastructure every function uses.

Pulumi runs this directory as a program (`main: infra/` in the root `Pulumi.yaml`), which executes
`__main__.py`. Everything else is importable without side effects so that the unit tests can build
the whole stack against Pulumi mocks by calling `infra.stack.build(config)`.
"""
