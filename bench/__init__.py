"""tgvault's benchmarks: ``.venv/bin/python -m bench [--quick]`` from the repository root."""
