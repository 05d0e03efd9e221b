"""The built-in price providers, one module each (loaded only when a policy names one)."""
