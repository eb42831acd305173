"""Use cases: sync, snapshots, alerting, delivery, reporting and the periodic jobs.

They orchestrate the domain and the adapters; no Flask, no HTTP and no SQL text here.
"""
