from surgsteer_cli.cli import main

main()
