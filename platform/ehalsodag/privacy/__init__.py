"""Privacy: what an attendee has posted (to see and delete), and erasing personal data after the retention period."""
