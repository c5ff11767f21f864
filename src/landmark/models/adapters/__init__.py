"""One module per framework; each imports its framework inside its methods only."""
