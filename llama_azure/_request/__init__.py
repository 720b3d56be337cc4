"""What goes on the wire: the parameters a call may send, checked before anything is sent, and where it goes.

Nothing is imported here, so that ``import llama_azure`` loads only what the shells need (the validators and
the pydantic models load at the first call). What each module hands out:

- ``param_table``: ``PARAMS``, the one table of parameters (range, service default, the routes that have each)
- ``params``: the typed parameters of ``create()`` (TypedDicts) and their run-time validation
- ``route_params``: ``check_route_params`` / ``check_route_ranges``, what the chosen route accepts
- ``messages``: ``check_messages``, chat messages checked against the per-role TypedDicts
- ``routes``: the route styles (``llama``, ``model-inference``, ``score``), each operation's path and headers
- ``score``: the managed endpoints' legacy ``/score`` body, and its answers read back as typed results
- ``structured``: structured output and tools from pydantic models (``pydantic_function_tool``, ``parse()``)
"""
