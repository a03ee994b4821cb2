"""The command-line interface: parse, load config, call one library function, render."""
