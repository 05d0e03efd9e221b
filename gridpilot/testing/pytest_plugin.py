"""pytest plugin (entry point ``pytest11``) that collects gridpilot policy test files."""
