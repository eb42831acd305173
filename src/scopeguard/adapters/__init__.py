"""Adapters: Jira, the database, delivery channels, PDF and charts, behind small interfaces."""
