"""The server's modules form no import circle: only the assembly (app.py) and the command line know the app;
every route reaches the engine's sampling parameters through its schema's one ``sampling()`` path."""

from __future__ import annotations

import ast
from pathlib import Path

from llama_azure.server.content_filter import Blocklist
from llama_azure.server.intake import sampling_params
from llama_azure.server.schemas import InferenceChatCompletionRequest, ScoreParameters

SERVER = Path(__file__).parents[2] / "llama_azure" / "server"


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.add(node.module or "")
            names.update(alias.name for alias in node.names if node.module is None)
    return names


def test_no_module_but_the_command_line_imports_the_app() -> None:
    knowing = {path.name for path in SERVER.glob("*.py") if "app" in imported(path)}
    assert knowing == {"cli.py"}


def test_every_route_schema_reaches_the_engine_through_one_path() -> None:
    blocklist = Blocklist(["forbidden"])
    chat = InferenceChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "Hi"}], "frequency_penalty": 0.5, "logprobs": True,
         "top_logprobs": 3, "stop": ["", "END"], "max_tokens": 4})
    params = sampling_params(chat, blocklist)
    assert (params.frequency_penalty, params.logprobs, params.stop, params.max_tokens) == (0.5, 3, ("END",), 4)
    assert params.temperature == 0.7 and params.blocked == ("forbidden",)
    score = sampling_params(ScoreParameters.model_validate({"max_new_tokens": 5, "do_sample": False, "seed": 7}),
                            blocklist)
    assert (score.max_tokens, score.temperature, score.seed, score.blocked) == (5, 0.0, 7, ("forbidden",))
