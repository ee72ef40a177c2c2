"""Progress of a batch on stderr: tqdm bars on a terminal, plain lines otherwise."""
import sys


class Progress:
    """Progress on stderr: tqdm bars on a terminal, one plain line per file (and a line
    per quarter of a tiled file) when stderr is redirected, nothing when disabled."""

    def __init__(self, total, *, enabled=True, stream=None):
        from tqdm import tqdm

        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled, self.tty, self.total, self.count = enabled, tty, total, 0
        self.bar = tqdm(total=total, file=self.stream, unit="image", dynamic_ncols=True) \
            if enabled and tty and total > 1 else None

    def done(self, outcome):
        """One file finished."""
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled and not self.tty and self.total > 1:
            why = f" ({outcome.message})" if outcome.status == "skipped" else ""
            print(f"denoise: [{self.count}/{self.total}] {outcome.job.source} -> "
                  f"{outcome.job.target}: {outcome.status}{why} ({outcome.seconds:.2f} s)",
                  file=self.stream, flush=True)

    def tiles(self, total):
        """A callback ``update(n)`` for a file of `total` tiles."""
        from tqdm import tqdm

        if not self.enabled:
            return None
        if self.tty:
            bar = tqdm(total=total, file=self.stream, unit="tile", leave=False,
                       dynamic_ncols=True, position=1 if self.bar is not None else 0)
            return lambda n: bar.update(n) if bar.n + n < total else bar.close()
        state = {"n": 0}

        def update(n):
            before, state["n"] = state["n"], state["n"] + n
            if 4 * state["n"] // total > 4 * before // total:
                print(f"denoise:   tiles {state['n']}/{total}", file=self.stream, flush=True)
        return update

    def close(self):
        if self.bar is not None:
            self.bar.close()
