"""One module per command group: parse, call the library, render, choose the exit code.

Each module's `register(app)` adds its commands to the app in `main.py`.
"""
