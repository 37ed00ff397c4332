"""MCP adapter (imports the mcp SDK; load it only in commands that serve)."""
