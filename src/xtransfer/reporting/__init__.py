"""Results files, console tables, figures."""
