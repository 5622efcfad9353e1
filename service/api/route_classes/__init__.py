"""Route classes: how a route reads its body (raw JSON, or parsed in a child process)."""
