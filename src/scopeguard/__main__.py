from scopeguard.entrypoints.cli import main

main()
