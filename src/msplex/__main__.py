"""``python -m msplex`` is the ``msplex`` command."""

from msplex.cli import main

if __name__ == "__main__":
    main()
