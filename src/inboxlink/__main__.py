from inboxlink.cli import main

main()
