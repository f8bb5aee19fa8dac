"""Agenda: programme files, events, stages, blocks and the run-of-show."""
