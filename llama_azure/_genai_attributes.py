"""OpenTelemetry GenAI semantic-convention attributes of a call and of its result, without OpenTelemetry.

Plain functions from a ``PreparedCall`` (the body as sent) and a typed result to attribute dicts, used by
``llama_azure.tracing``. Nothing here reads a header: keys and tokens cannot reach an attribute. Message
content (``gen_ai.input.messages`` / ``gen_ai.output.messages``) is built only when the caller asks for it,
in the conventions' JSON shape (``{"role", "parts": [{"type": "text", "content"}, ...]}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

if TYPE_CHECKING:
    from ._call.prepared import PreparedCall

AttributeValue: TypeAlias = str | bool | int | float | Sequence[str]
Attributes: TypeAlias = dict[str, AttributeValue]

PROVIDER = "azure.ai.inference"
OPERATIONS = {"chat": "chat", "completions": "text_completion"}  # our route operation -> gen_ai.operation.name
# Request parameters recorded as gen_ai.request.* (all in the body as sent; /score names max_tokens differently).
_FLOAT_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
}
_INT_PARAMS = {"max_tokens": "gen_ai.request.max_tokens", "max_new_tokens": "gen_ai.request.max_tokens",
               "max_completion_tokens": "gen_ai.request.max_tokens", "seed": "gen_ai.request.seed"}


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parameters(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The sampling parameters of a body: top level, or ``input_data.parameters`` on the /score route."""
    input_data = body.get("input_data")
    if isinstance(input_data, Mapping):
        params = input_data.get("parameters")
        return params if isinstance(params, Mapping) else {}
    return body


def request_model(call: PreparedCall[Any]) -> str | None:
    """The model asked for: ``model=`` in the body, else the ``azureml-model-deployment`` the call targets."""
    model = (call.body or {}).get("model")
    if isinstance(model, str) and model:
        return model
    return call.header(b"azureml-model-deployment") or None


def server_attributes(call: PreparedCall[Any]) -> Attributes:
    url = call.url
    return {"server.address": url.host, "server.port": url.port or (443 if url.scheme == "https" else 80)}


def request_attributes(call: PreparedCall[Any], operation: str, model: str | None) -> Attributes:
    """The attributes known before sending: operation, provider, model, server and request parameters."""
    attrs: Attributes = {"gen_ai.operation.name": operation, "gen_ai.provider.name": PROVIDER}
    if model:
        attrs["gen_ai.request.model"] = model
    attrs.update(server_attributes(call))
    attrs["gen_ai.request.stream"] = call.stream
    params = _parameters(call.body or {})
    for name, key in _INT_PARAMS.items():
        value = params.get(name)
        if _is_int(value):
            attrs[key] = value
    for name, key in _FLOAT_PARAMS.items():
        value = params.get(name)
        if _is_number(value):
            attrs[key] = float(value)
    n = params.get("n")
    if _is_int(n) and n != 1:
        attrs["gen_ai.request.choice.count"] = n
    stop = params.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = list(stop)
    response_format = params.get("response_format")
    if isinstance(response_format, Mapping) and isinstance(response_format.get("type"), str):
        kind = response_format["type"]
        attrs["gen_ai.output.type"] = "json" if kind.startswith("json") else kind
    return attrs


def response_attributes(result: Any) -> Attributes:
    """``gen_ai.response.*`` and ``gen_ai.usage.*`` of a ``ChatCompletion`` or ``Completion`` (whole or folded)."""
    attrs: Attributes = {}
    if getattr(result, "id", None):
        attrs["gen_ai.response.id"] = result.id
    if getattr(result, "model", None):
        attrs["gen_ai.response.model"] = result.model
    reasons = [c.finish_reason for c in getattr(result, "choices", None) or () if c.finish_reason]
    if reasons:
        attrs["gen_ai.response.finish_reasons"] = reasons
    usage = getattr(result, "usage", None)
    if usage is not None:
        if _is_int(usage.prompt_tokens):
            attrs["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        if _is_int(usage.completion_tokens):
            attrs["gen_ai.usage.output_tokens"] = usage.completion_tokens
    return attrs


# ------------------------------------------------------------------------------------------------
# Message content, only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
# ------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A dict for a pydantic model (typed tool calls), the value itself otherwise."""
    dump = getattr(value, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else value


def _arguments(raw: Any) -> Any:
    """Tool-call arguments as an object when they are JSON text (as the conventions ask), else as they came."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in tool_calls or ():
        call = _plain(call)
        if not isinstance(call, Mapping):
            continue
        function = _plain(call.get("function")) or {}
        parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                      "arguments": _arguments(function.get("arguments"))})
    return parts


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for item in content or ():  # a list of typed parts: text is kept, other kinds (images) only named
        item = _plain(item)
        if isinstance(item, Mapping):
            kind = item.get("type")
            if kind == "text" and isinstance(item.get("text"), str):
                parts.append({"type": "text", "content": item["text"]})
            elif isinstance(kind, str):
                parts.append({"type": kind})
    return parts


def _input_message(message: Any) -> dict[str, Any]:
    message = _plain(message)
    role = message.get("role", "user")
    if role == "tool":
        return {"role": "tool", "parts": [{"type": "tool_call_response", "id": message.get("tool_call_id"),
                                           "result": message.get("content")}]}
    parts = _content_parts(message.get("content")) + _tool_call_parts(message.get("tool_calls"))
    return {"role": role, "parts": parts}


def input_messages(call: PreparedCall[Any]) -> str:
    """``gen_ai.input.messages`` as JSON text: the chat messages, or the prompt as one user message."""
    body = call.body or {}
    input_data = body.get("input_data")
    if isinstance(input_data, Mapping):  # /score: input_string holds the messages, or [prompt]
        items = input_data.get("input_string") or []
        messages = [m if isinstance(m, Mapping) else {"role": "user", "content": m} for m in items]
    elif "messages" in body:
        messages = body["messages"]
    else:
        messages = [{"role": "user", "content": body.get("prompt")}]
    return json.dumps([_input_message(m) for m in messages], ensure_ascii=False, default=str)


def output_messages(result: Any) -> str:
    """``gen_ai.output.messages`` as JSON text: one message per choice, with its finish reason."""
    out = []
    for choice in getattr(result, "choices", None) or ():
        message = getattr(choice, "message", None)
        if message is not None:  # chat
            parts = _content_parts(message.content or ()) + _tool_call_parts(message.tool_calls)
            role = message.role or "assistant"
        else:  # text completion
            parts, role = _content_parts(choice.text or ()), "assistant"
        out.append({"role": role, "parts": parts, "finish_reason": choice.finish_reason or ""})
    return json.dumps(out, ensure_ascii=False, default=str)
