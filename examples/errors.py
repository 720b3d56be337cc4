"""The errors you will meet, and how to catch them: content filter, a wrong key, a bad parameter.

    python examples/errors.py

Locally the reference server is started with `--blocklist pineapple`, so any prompt naming pineapples
is refused the way Azure's content filter refuses a prompt (HTTP 400, code content_filter).
"""

from __future__ import annotations

from _support import endpoint

from llama_azure import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ContentFilterError,
    LlamaClient,
    ParameterError,
)

QUESTION = [{"role": "user", "content": "Is pineapple good on pizza?"}]


def main() -> None:
    with endpoint(["--blocklist", "pineapple"]) as target:
        with LlamaClient(target.endpoint, target.api_key) as client:
            # 1. The content filter: a 400 with code content_filter becomes ContentFilterError
            #    (a BadRequestError). Not retried: the same prompt would be refused again.
            try:
                reply = client.chat.completions.create(messages=QUESTION, max_tokens=16)
                print("content filter: not triggered here; answer:", reply.choices[0].message.content)
            except ContentFilterError as error:
                print(f"content filter -> {type(error).__name__} (status {error.status_code}, "
                      f"code {error.code}, param {error.param})")
                print(f"  {error.message}")

            # 2. Validation: checked before anything is sent; the error names the parameter.
            try:
                client.chat.completions.create(messages=QUESTION, max_tokens=16, temperature=5)
            except ParameterError as error:
                print(f"validation -> ParameterError on {error.param!r}: {error}")
            try:
                client.chat.completions.create(messages=QUESTION, max_tokens=16, top_k=40)  # type: ignore[call-arg]
            except ParameterError as error:
                print(f"unknown parameter -> ParameterError: {error}")

        # 3. Authentication: a wrong key is a 401, AuthenticationError, never retried.
        with LlamaClient(target.endpoint, "not-the-right-key") as client:
            try:
                client.chat.completions.create(messages=QUESTION, max_tokens=16)
            except AuthenticationError as error:
                print(f"wrong key -> {type(error).__name__}: {error}")

        # 4. Catch-alls: APIStatusError for any error answer, APIConnectionError when none arrived.
        with LlamaClient("http://127.0.0.1:9", "any-key", max_retries=0) as client:
            try:
                client.get_model_info()
            except APIStatusError as error:
                print(f"status {error.status_code}: {error}")
            except APIConnectionError as error:
                print(f"no answer -> {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
