from tests.fixtures.local_targets import make_target

__all__ = ["make_target"]
