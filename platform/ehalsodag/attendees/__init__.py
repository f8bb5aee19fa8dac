"""Attendees: joining an event, attendee tokens and group size. Below every domain: it imports none."""
