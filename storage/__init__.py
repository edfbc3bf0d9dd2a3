"""PostgreSQL storage: connections, the embedded server, migrations and the table families."""
