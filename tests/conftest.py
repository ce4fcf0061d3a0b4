pytest_plugins = [
    "tests.support.store",
    "tests.support.accounts",
    "tests.support.mail_fixtures",
    "tests.support.discovery_fixtures",
    "tests.support.google_fixtures",
    "tests.support.microsoft_fixtures",
    "tests.support.ews_fixtures",
    "tests.support.browser",
]
