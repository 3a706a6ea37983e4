"""Subcommands of the ``textxfer`` CLI, one module per concern (see ``textxfer.cli``)."""
