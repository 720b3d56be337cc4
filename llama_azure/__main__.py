"""``python -m llama_azure chat ...``: the same as the ``llama-azure`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
