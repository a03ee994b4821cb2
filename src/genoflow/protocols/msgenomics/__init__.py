"""Microsoft Genomics REST API: wire models (no HTTP) and the client."""
