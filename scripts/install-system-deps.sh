#!/usr/bin/env bash
# Install the Debian packages the test suite runs for real (mail servers, DNS, browser, IMAP
# sync tool, SMTP test client, openssl). Idempotent: a fast no-op when all are present.
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-lmtpd postfix dnsmasq-base chromium isync swaks openssl)

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

# Postfix asks which mail setup to configure; tests bring their own config, so: none.
preseed='postfix postfix/main_mailer_type select No configuration'
install="apt-get install -y ${missing[*]}"

if [[ $(id -u) -ne 0 ]]; then
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Run as root:" >&2
    echo "  echo '$preseed' | debconf-set-selections && apt-get update && DEBIAN_FRONTEND=noninteractive $install" >&2
    exit 1
fi

echo "$preseed" | debconf-set-selections
apt-get update
DEBIAN_FRONTEND=noninteractive $install
