"""Live: attendees joining, the realtime hub and the event websocket."""
