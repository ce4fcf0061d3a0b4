"""inboxlink: connect a team's mailboxes to a CRM."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inboxlink")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
