"""llama-azure: typed sync and async clients for Meta Llama models on Azure."""

from ._version import __version__

__all__ = ["__version__"]
