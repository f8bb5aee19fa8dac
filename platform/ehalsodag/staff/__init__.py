"""Staff: organisers, moderators and admins; login, tokens and the audit log."""
