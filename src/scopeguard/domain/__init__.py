"""Pure domain: issues, change histories, contracts and the scope metrics.

Nothing in this package may import Flask, SQLAlchemy, requests, jira or
matplotlib; ``tests/integration/test_architecture.py`` enforces it.
"""
