"""The ``denoise`` command's entry point, outside the package.

Importing the package takes about a second (NumPy, Numba, scikit-image, the
methods' registration); an interrupt in that time ends as one later does,
``Aborted!`` and exit code 130, never a traceback.
"""
import sys


def main():
    """Import the command line app and run it."""
    try:
        from denoise.cli import main as app
    except KeyboardInterrupt:
        print("Aborted!", file=sys.stderr)
        raise SystemExit(130) from None
    return app()


if __name__ == "__main__":
    sys.exit(main())
