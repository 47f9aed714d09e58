"""``python -m zuinig``: the same as the ``zuinig`` command."""

from zuinig.cli import main

if __name__ == "__main__":
    main()
