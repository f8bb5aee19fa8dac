"""Web plumbing shared by every domain: templates, cookies, request helpers."""
