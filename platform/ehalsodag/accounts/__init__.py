"""Staff accounts in the browser: invitations, the staff page, API tokens and password changes."""
