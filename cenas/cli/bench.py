"""`cenas bench`: wired in the next commit."""
