"""Platform adapters: Slack, Teams and the terminal drive the same core through these."""
