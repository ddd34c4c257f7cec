"""Allow ``python -m tgvault``."""

from tgvault.cli import main

if __name__ == "__main__":
    main()
