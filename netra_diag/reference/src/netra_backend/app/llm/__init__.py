"""LLM access (a scripted, deterministic manager: no network)."""
