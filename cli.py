"""Run the denoise command line from a checkout: ``python cli.py --help``."""
from denoise.cli import main

if __name__ == "__main__":
    main(prog_name="denoise")
