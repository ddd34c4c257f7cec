"""Allow ``python -m tgvault.cli``."""

from tgvault.cli.root import entrypoint

if __name__ == "__main__":  # pragma: no cover
    entrypoint()
