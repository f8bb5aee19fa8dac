"""Evaluation: the questionnaire after the day, answered once per attendee, anonymously."""
