"""Tools run for you: ``chat.completions.run_tools`` and the Python functions it calls.

Nothing is imported here: both modules load at the first ``run_tools`` (they need pydantic). What each hands out:

- ``functions``: ``RunnableTool``, a typed Python function (or a pydantic tool and its handler) as a tool: its schema
  from the signature and docstring, its call validated; ``ToolSpec``, what ``tools=`` takes
- ``runner``: ``ToolLoop``, the sans-IO tool loop both shells share; ``ToolRun`` and the tool run streams
"""
