"""The `recon` command line: parse, call the library, render, return an exit code."""
