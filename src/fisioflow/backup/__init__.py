"""Backups: encrypted logical dumps proven by restoring them, and point-in-time recovery.

Kept free of imports: PostgreSQL runs `python -m fisioflow.backup.walcmd` once per WAL
segment, and that must start fast.
"""
