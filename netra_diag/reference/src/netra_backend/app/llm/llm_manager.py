"""A scripted LLM manager: deterministic answers, no network, no randomness.

``plan(message)`` returns the agent's thought and the one tool call it wants;
``answer(message, tool_result)`` returns the final answer. Both are coroutines, like a real
LLM client, and both are pure functions of their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LLMPlan", "ScriptedLLMManager"]


@dataclass(frozen=True)
class LLMPlan:
    """What the model decided: a thought to show the user and a tool call."""

    thought: str
    tool_name: str
    tool_args: dict[str, Any] = field(default_factory=dict)


class ScriptedLLMManager:
    """Always plans one ``word_count`` call on the user's message."""

    model = "scripted-1"

    async def plan(self, message: str) -> LLMPlan:
        preview = message if len(message) <= 40 else message[:37] + "..."
        return LLMPlan(
            thought=f"The user asked: {preview!r}. Counting its words will answer it.",
            tool_name="word_count",
            tool_args={"text": message},
        )

    async def answer(self, message: str, tool_result: dict[str, Any]) -> str:
        words = tool_result.get("words", 0)
        noun = "word" if words == 1 else "words"
        return f"Your message has {words} {noun}."
