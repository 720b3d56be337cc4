"""Microsoft Entra ID instead of a key, with azure-identity's DefaultAzureCredential.

    python examples/entra_id.py "What is Entra ID?"

With LLAMA_AZURE_ENDPOINT set, this uses your endpoint and whatever DefaultAzureCredential finds (az login,
a managed identity, workload identity...); no key needed. Otherwise it starts the reference server with
``--entra``, whose managed-identity token endpoint DefaultAzureCredential uses, offline.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from azure.identity import DefaultAzureCredential

from llama_azure import LlamaClient


@contextlib.contextmanager
def entra_endpoint() -> Iterator[str]:
    configured = os.environ.get("LLAMA_AZURE_ENDPOINT")
    if configured:
        yield configured
        return
    from llama_azure.server.process import ReferenceServer  # needs the [server] extra

    with ReferenceServer(api_key="example-key", args=["--entra"]) as server:
        # The server prints IDENTITY_ENDPOINT and IDENTITY_HEADER: the App Service managed-identity
        # variables that azure-identity reads. Set them for this process, as App Service would.
        os.environ.update(server.identity_env)
        yield server.url


def main() -> None:
    question = " ".join(sys.argv[1:]) or "Say hello in five words."
    # The scope is chosen from the host (https://ml.azure.com/.default here); pass scope=... to override.
    with entra_endpoint() as url, DefaultAzureCredential() as credential, LlamaClient(url, credential) as client:
        reply = client.chat.completions.create(messages=[{"role": "user", "content": question}], max_tokens=32)
        print(f"> {question}\n{reply.choices[0].message.content}")


if __name__ == "__main__":
    main()
