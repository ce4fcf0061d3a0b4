"""Fault tests (issue 10): dropped connections, restarted servers, crashes -- nothing lost,
nothing logged twice, nothing sent twice. Figures are printed; docs/reliability.md has them."""
