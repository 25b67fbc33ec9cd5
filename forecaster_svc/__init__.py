"""Carbon-intensity forecasting service: models (pure) and the publishing loop (adapter)."""
