"""HTTP routes: thin adapters from requests to `gateway.store` and the kernel."""
