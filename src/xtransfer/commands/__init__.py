"""One module per `xtransfer` subcommand; each exposes `main(argv)`."""
