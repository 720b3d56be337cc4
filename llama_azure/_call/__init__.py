"""One call: its settings checked, its request prepared, its attempts run.

Nothing is imported here. What each module hands out:

- ``config``: ``ClientConfig``, a client's endpoint and options checked, and the check of each option (the
  constructor's, ``with_options``' and a call's own: headers, timeouts, retries)
"""
