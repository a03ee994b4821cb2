"""GA4GH WES 1.1: wire models (no HTTP) and the client."""
