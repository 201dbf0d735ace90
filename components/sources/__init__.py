"""Data sources: synthetic twin network and readers of real files (import the modules directly)."""
