"""What operators look at: health and readiness, Prometheus metrics, structured logs."""
