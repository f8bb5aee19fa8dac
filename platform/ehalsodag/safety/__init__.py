"""Safety nets for live moderation: undo within seconds, confirmations, the mute list and ending the broadcast."""
