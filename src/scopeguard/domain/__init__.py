"""Pure domain: issues, change histories, contracts and the scope metrics.

Nothing in this package may import Flask, SQLAlchemy, requests, jira or
matplotlib; ``tests/unit/test_domain_purity.py`` enforces it.
"""
