"""Per-request services: the user execution context and the agent WebSocket bridge."""
