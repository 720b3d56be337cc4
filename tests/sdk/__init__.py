"""Tests of the SDK clients (a package, so helper module names cannot clash with other test folders)."""
