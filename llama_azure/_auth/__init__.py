"""Auth: what ``credential=`` takes, and the headers each attempt sends with it.

Nothing is imported here. What each module hands out:

- ``credentials``: ``KeyCredential``, ``TokenCredential``, ``AsyncTokenCredential``: protocols of what ``credential=``
  takes (azure-core's and azure-identity's credentials fit them)
- ``auth``: ``resolve_auth`` (a credential to an ``Auth``), ``KeyAuth`` and ``TokenAuth`` / ``AsyncTokenAuth`` with
  the ``TokenCache`` both shells share; the scopes (``scope_for_endpoint``)
"""
