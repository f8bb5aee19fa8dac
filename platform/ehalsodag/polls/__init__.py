"""Polls: Menti-style questions to the audience, from single choice to word clouds."""
