"""Network endpoints. Only ``websocket_server`` imports the ``websockets`` library."""
