"""`python -m paintcli` is the same as `paint`."""

from paintcli.cli import main

if __name__ == "__main__":
    main()
