"""The bundled reference server: Azure-compatible Llama endpoints backed by a real local model.

Importing this package (or :mod:`llama_azure.server.process`) loads neither llama.cpp nor Starlette,
so clients without the ``server`` extra can still start a server installed elsewhere.

>>> from llama_azure.server.process import ReferenceServer
>>> with ReferenceServer(api_key="test-key") as srv:   # doctest: +SKIP
...     print(srv.url)
"""

__all__: list[str] = []
