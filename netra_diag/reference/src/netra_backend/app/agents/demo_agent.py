"""The demo agent: one thought, one real tool call, one answer: exactly five events.

``run(message, emitter)`` emits, in order: ``agent_started``, ``agent_thinking`` (the
LLM's thought), ``tool_executing``, ``tool_completed`` (with the tool's result) and
``agent_completed`` (with the answer). The agent emits only through the emitter it is
given; ``websocket_bridge`` is set by the registry that handed the agent out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["TOOLS", "DemoAgent", "word_count"]


def word_count(text: str) -> dict[str, int]:
    """Count words and characters (the tool the demo agent runs)."""
    return {"words": len(re.findall(r"\S+", text)), "chars": len(text)}


TOOLS: dict[str, Callable[..., dict[str, Any]]] = {"word_count": word_count}


class DemoAgent:
    """A minimal agent driven by an LLM manager."""

    name = "demo"

    def __init__(self, llm_manager: Any) -> None:
        self.llm_manager = llm_manager
        self.websocket_bridge: Any = None

    async def run(self, message: str, emitter: Any) -> str:
        await emitter.notify_agent_started(self.name, {"message_chars": len(message)})
        plan = await self.llm_manager.plan(message)
        await emitter.notify_agent_thinking(plan.thought)
        await emitter.notify_tool_executing(plan.tool_name, {"args": plan.tool_args})
        tool = TOOLS.get(plan.tool_name)
        if tool is None:
            raise LookupError(f"the LLM asked for unknown tool {plan.tool_name!r}")
        result = tool(**plan.tool_args)
        await emitter.notify_tool_completed(plan.tool_name, result)
        answer = await self.llm_manager.answer(message, result)
        await emitter.notify_agent_completed(self.name, {"answer": answer})
        return answer
