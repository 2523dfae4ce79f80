"""WebSocket core: connection hub, per-user managers, event encoding and the user emitter.

``create_websocket_manager`` is the supported entry point. ``get_websocket_manager`` is
re-exported only because old call sites import it from here; it is deprecated (it warns
and returns a singleton that reaches nobody).
"""

from netra_backend.app.websocket_core.unified_manager import get_websocket_manager
from netra_backend.app.websocket_core.websocket_manager_factory import create_websocket_manager

__all__ = ["create_websocket_manager", "get_websocket_manager"]
