"""Multi-objective search: LaMOO (pure) and the candidate-dispatch service."""
