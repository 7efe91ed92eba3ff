"""One module per external system, each implementing ports from `gametime.ports`."""
