from tests.integration.local.localkit import make_target

__all__ = ["make_target"]
