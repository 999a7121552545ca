"""Monte Carlo: uncertain inputs drawn for all replicates at once, models run on the batch."""
