"""Q&A: attendees ask the panel, upvote, and moderators curate the questions."""
