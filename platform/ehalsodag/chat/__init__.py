"""Chat: the event-wide conversation, with moderation and a per-attendee rate limit."""
