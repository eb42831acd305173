from scopeguard.cli import main

main()
