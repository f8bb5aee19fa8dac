"""Operating the platform: health and readiness for load balancers, and the probes that refuse a start when the
database or Redis cannot be reached."""
