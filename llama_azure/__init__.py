"""llama-azure: typed sync and async clients for Meta Llama models on Azure.

    from llama_azure import LlamaClient
    client = LlamaClient(endpoint="https://my-llama.eastus2.models.ai.azure.com", credential="KEY")
    reply = client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], max_tokens=64)
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._async_client import AsyncLlamaClient
from ._auth.auth import DEFAULT_SCOPE, scope_for_endpoint
from ._auth.credentials import AsyncTokenCredential, Credential, KeyCredential, TokenCredential
from ._call.failover import CoolDown, Deployment
from ._client import LlamaClient
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContentFilterError,
    CredentialError,
    DeploymentsUnavailableError,
    InternalServerError,
    LlamaAzureError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
    QuotaStoreError,
    QuotaTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    StructuredOutputError,
    ToolArgumentsError,
    ToolCallError,
    UnknownToolError,
    UnprocessableEntityError,
)
from ._streaming.raw_response import RawResponse
from ._streaming.streams import AsyncStream, Stream
from ._version import __version__

if TYPE_CHECKING:
    from ._pacing.rate_limit import RateLimit
    from ._request.structured import pydantic_function_tool
    from ._tools.functions import ToolSpec
    from ._tools.runner import (
        AsyncToolRunStream,
        ToolRun,
        ToolRunEvent,
        ToolRunStream,
    )
    from .types import (
        AssistantMessageParam,
        ChatCompletion,
        ChatCompletionChunk,
        ChatMessage,
        ChatMessageParam,
        ChoiceLogprobs,
        Completion,
        ContentFilterResult,
        Delta,
        FunctionCall,
        ImageContentPart,
        Logprobs,
        ModelInfo,
        NamedToolChoice,
        ParsedChatCompletion,
        PromptFilterResult,
        ResponseFormat,
        SystemMessageParam,
        TextContentPart,
        TokenLogprob,
        ToolCall,
        ToolCallDelta,
        ToolChoice,
        ToolMessageParam,
        ToolParam,
        Usage,
        UserMessageParam,
    )
    from .types.tool_calls import ToolCallRecord

# The pydantic models (and the validators they build) load when first named, not at `import llama_azure`:
# that keeps the import close to the cost of importing httpx and pydantic (benchmarks/import_time.py).
_LAZY = {
    "RateLimit": "._pacing.rate_limit",
    "pydantic_function_tool": "._request.structured",
    "ToolSpec": "._tools.functions",
    "AsyncToolRunStream": "._tools.runner",
    "ToolCallRecord": ".types.tool_calls",
    "ToolRun": "._tools.runner",
    "ToolRunEvent": "._tools.runner",
    "ToolRunStream": "._tools.runner",
    "AssistantMessageParam": ".types",
    "ChatCompletion": ".types",
    "ChatCompletionChunk": ".types",
    "ChatMessage": ".types",
    "ChatMessageParam": ".types",
    "ChoiceLogprobs": ".types",
    "Completion": ".types",
    "ContentFilterResult": ".types",
    "Delta": ".types",
    "FunctionCall": ".types",
    "ImageContentPart": ".types",
    "Logprobs": ".types",
    "ModelInfo": ".types",
    "NamedToolChoice": ".types",
    "ParsedChatCompletion": ".types",
    "PromptFilterResult": ".types",
    "ResponseFormat": ".types",
    "SystemMessageParam": ".types",
    "TextContentPart": ".types",
    "TokenLogprob": ".types",
    "ToolCall": ".types",
    "ToolCallDelta": ".types",
    "ToolChoice": ".types",
    "ToolMessageParam": ".types",
    "ToolParam": ".types",
    "Usage": ".types",
    "UserMessageParam": ".types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llama_azure' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "DEFAULT_SCOPE",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantMessageParam",
    "AsyncLlamaClient",
    "AsyncStream",
    "AsyncTokenCredential",
    "AsyncToolRunStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "ChatMessageParam",
    "ChoiceLogprobs",
    "Completion",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContentFilterResult",
    "CoolDown",
    "Credential",
    "CredentialError",
    "Delta",
    "Deployment",
    "DeploymentsUnavailableError",
    "FunctionCall",
    "ImageContentPart",
    "InternalServerError",
    "KeyCredential",
    "LlamaAzureError",
    "LlamaClient",
    "Logprobs",
    "ModelInfo",
    "NamedToolChoice",
    "NotFoundError",
    "ParameterError",
    "ParsedChatCompletion",
    "PermissionDeniedError",
    "PromptFilterResult",
    "QuotaStoreError",
    "QuotaTimeoutError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "ResponseFormat",
    "ResponseTooLargeError",
    "Stream",
    "StructuredOutputError",
    "SystemMessageParam",
    "TextContentPart",
    "TokenCredential",
    "TokenLogprob",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallError",
    "ToolCallRecord",
    "ToolChoice",
    "ToolMessageParam",
    "ToolParam",
    "ToolRun",
    "ToolRunEvent",
    "ToolRunStream",
    "ToolSpec",
    "UnknownToolError",
    "UnprocessableEntityError",
    "Usage",
    "UserMessageParam",
    "__version__",
    "pydantic_function_tool",
    "scope_for_endpoint",
]
