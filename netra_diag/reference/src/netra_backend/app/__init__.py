"""The application: services, WebSocket core, agents, LLM access, wiring and routes."""
