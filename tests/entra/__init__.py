"""Tests of Entra ID sign-in (a package, so its conftest and helpers cannot clash with other test folders)."""
