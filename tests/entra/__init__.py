"""Tests of Entra ID sign-in (a package, so its conftest and helper module names cannot clash with other test folders)."""
