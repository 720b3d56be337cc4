"""llama-azure: typed sync and async clients for Meta Llama models on Azure.

    from llama_azure import LlamaClient
    client = LlamaClient(endpoint="https://my-llama.eastus2.models.ai.azure.com", credential="KEY")
    reply = client.chat.completions.create(messages=[{"role": "user", "content": "Hi"}], max_tokens=64)
"""

from ._async_client import AsyncLlamaClient
from ._auth import DEFAULT_SCOPE, scope_for_endpoint
from ._client import LlamaClient
from ._credential_error import CredentialError
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
    InternalServerError,
    LlamaAzureError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    UnprocessableEntityError,
)
from ._quota_errors import QuotaStoreError, QuotaTimeoutError
from ._rate_limit import RateLimit
from ._raw_response import RawResponse
from ._streaming import AsyncStream, Stream
from ._version import __version__
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    Completion,
    Delta,
    Logprobs,
    ModelInfo,
    Usage,
)

__all__ = [
    "DEFAULT_SCOPE",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLlamaClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "Completion",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "CredentialError",
    "Delta",
    "InternalServerError",
    "LlamaAzureError",
    "LlamaClient",
    "Logprobs",
    "ModelInfo",
    "NotFoundError",
    "ParameterError",
    "PermissionDeniedError",
    "QuotaStoreError",
    "QuotaTimeoutError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "ResponseTooLargeError",
    "Stream",
    "UnprocessableEntityError",
    "Usage",
    "__version__",
    "scope_for_endpoint",
]
