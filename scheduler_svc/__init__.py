"""GPU allocation: policies, the discrete-time simulator (pure) and the decision service."""
