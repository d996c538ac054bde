"""Adapters over the public face: the command line, the HTTP API, and its tokens."""
