"""Helpers shared by every test folder: wire builders, a fake clock, waits on a condition."""
