"""Removal credits (issue 21): project profiles, the buffer pool, reversals, forward offtake
contracts."""
