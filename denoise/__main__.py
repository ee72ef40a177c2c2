"""`python -m denoise`: the same app as the `denoise` command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="denoise")
