"""The load benchmark (``ehalsodag bench``): real websocket clients against a real server, on loopback only."""
