"""One module per CLI verb: NAME, HELP, add_arguments(parser), run(args) -> int."""
