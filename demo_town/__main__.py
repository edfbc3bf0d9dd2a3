"""Command line: ``python -m demo_town OUT_DIR [--seed N] [--parcels N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from demo_town.generate import generate
from demo_town.parcels import DEFAULT_PARCELS_TARGET


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, generate the demo town and print the written paths."""
    parser = argparse.ArgumentParser(prog="python -m demo_town", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--parcels", type=int, default=DEFAULT_PARCELS_TARGET)
    args = parser.parse_args(argv)
    files = generate(args.out_dir, seed=args.seed, n_parcels_target=args.parcels)
    print(files.gpkg)
    print(files.dem)


if __name__ == "__main__":
    main()
