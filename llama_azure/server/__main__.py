"""``python -m llama_azure.server serve ...``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
