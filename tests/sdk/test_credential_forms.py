"""The forms ``credential=`` takes (typed by the KeyCredential / TokenCredential / AsyncTokenCredential
protocols; mypy's side is tests/typing): each one works against the real server, and anything else is refused
before a request is made."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from support.shells import USER_HI, ShellFactory

from llama_azure import AsyncLlamaClient, ConfigurationError, KeyCredential, LlamaClient
from llama_azure.server.process import ReferenceServer


class RotatingKey:
    """A KeyCredential of one's own: any object with a ``key`` string."""

    def __init__(self, key: str) -> None:
        self.reads = 0
        self._key = key

    @property
    def key(self) -> str:
        self.reads += 1
        return self._key


async def test_a_key_credential_of_ones_own_is_read_at_each_call(server: ReferenceServer,
                                                                  shell_factory: ShellFactory) -> None:
    rotating = RotatingKey(server.api_key)
    credential: KeyCredential = rotating
    shell = shell_factory(server.url, credential)
    for _ in range(2):
        reply = await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))
        assert reply.choices
    assert rotating.reads >= 2


async def test_an_azure_key_credential_works(server: ReferenceServer, shell_factory: ShellFactory) -> None:
    shell = shell_factory(server.url, AzureKeyCredential(server.api_key))
    assert (await shell.run(lambda c: c.chat.completions.create(messages=USER_HI, max_tokens=2))).choices


@pytest.mark.parametrize("cls", [LlamaClient, AsyncLlamaClient])
@pytest.mark.parametrize("wrong", [42, {"key": "k"}, b"key", object()])
def test_anything_else_is_refused_naming_the_forms(cls: type[Any], wrong: object) -> None:
    with pytest.raises(ConfigurationError, match=r"key string, a KeyCredential .* AsyncTokenCredential"):
        cls("https://my-llama.eastus2.models.ai.azure.com", wrong)
