"""What participants run: trainer and aggregator daemons, task setup, the demo clock."""
