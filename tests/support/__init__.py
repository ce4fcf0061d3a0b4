"""Real mail servers (Dovecot, Postfix) and their certificates, started by the test suite."""
