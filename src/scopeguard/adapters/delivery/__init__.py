"""Delivery channels for alerts and reports: signed webhooks, Slack, Teams and email."""
