"""The legal officers' HTTP API."""
