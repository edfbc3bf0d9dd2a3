"""Backup and restore of a running hub: its database as a PostgreSQL custom-format dump
(TimescaleDB's procedure where the extension is present), the data directory's files,
the rasters the catalogue points to and the river configuration, with a manifest that
a restore checks before it touches anything.

:mod:`backup.pg_tools` finds and runs ``pg_dump``/``pg_restore`` of the server's version;
:mod:`backup.manifest` describes a backup and checks its files; :mod:`backup.archive`
makes and restores one. What a backup cannot hold (the minutes since it was taken) and
how to shorten that: ``docs/backup.md``.
"""
