"""ehalsodag: a self-hosted platform for live, interactive digital e-health days."""

__version__ = "0.1.0"
