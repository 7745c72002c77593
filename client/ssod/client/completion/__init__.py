"""Shell completion for ``ssod``: the command tree read from argparse, and the scripts per shell."""
