"""Batch files: the ``llama-azure batch`` command, and answers read back from an output file.

Nothing is imported here; the public names are in :mod:`llama_azure.batch`, the engine (``run_batch``). What each
module hands out:

- ``command``: ``add_batch_parser`` / ``run_batch_command``, the ``llama-azure batch`` subcommand (progress, Ctrl-C)
- ``output``: ``read_batch_output``, ``BatchResult`` and ``BatchError``, an output file's lines as typed records
"""
