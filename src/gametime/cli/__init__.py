"""The `gametime` command: thin shells over the services."""
