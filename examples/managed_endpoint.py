"""A managed online endpoint: the legacy `/score` route and a named deployment.

    LLAMA_AZURE_ENDPOINT=https://<endpoint>.<region>.inference.ml.azure.com/score \
    LLAMA_AZURE_API_KEY=... LLAMA_AZURE_DEPLOYMENT=<deployment> python examples/managed_endpoint.py

Locally the reference server is started with `--deployment blue` and serves `/score` too.
"""

from __future__ import annotations

import os

from _support import endpoint

from llama_azure import LlamaClient


def main() -> None:
    with endpoint(["--deployment", "blue"]) as target:
        # A URL ending in /score (or a *.inference.ml.azure.com host) selects the score route style;
        # `deployment=` sends `azureml-model-deployment`, bypassing the endpoint's traffic split.
        url = target.endpoint + "/score" if target.local else target.endpoint
        deployment = "blue" if target.local else os.environ.get("LLAMA_AZURE_DEPLOYMENT")
        with LlamaClient(url, target.api_key, deployment=deployment) as client:
            print(f"route style: {client.api}, deployment: {deployment or '(traffic split)'}")
            # The same chat call as on a serverless endpoint; the SDK writes the `input_data` body
            # and turns `{"output": "..."}` back into a ChatCompletion.
            reply = client.chat.completions.create(
                messages=[{"role": "user", "content": "Name three colours of the rainbow."}],
                max_tokens=32,
                temperature=0.6,
            )
            print("chat:", reply.choices[0].message.content)
            # Text completion: `input_string` is a list of prompts, the answer `[{"0": "..."}]`.
            text = client.completions.create(prompt="Roses are red, violets are", max_tokens=8, temperature=0)
            print("completion:", text.choices[0].text)


if __name__ == "__main__":
    main()
