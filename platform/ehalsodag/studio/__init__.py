"""The organiser studio: the staff member's home, and (from the studio domain) setting up a day in the browser."""
