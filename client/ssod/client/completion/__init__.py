"""Shell completion: a model of the command line read from its argparse parser, and the bash, zsh
and fish scripts rendered from it.
"""
