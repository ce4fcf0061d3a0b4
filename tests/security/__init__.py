"""Security tests (issue 10): XSS, secrets at rest and in logs, CSRF, open redirects, header
injection, login throttling, and the JSON API fuzzed from its own OpenAPI schema."""
