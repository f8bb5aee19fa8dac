"""Results: attendance, polls, Q&A and evaluation figures for the organisers, and their exports."""
