"""``python -m genoflow.demo``: write the demo dataset, or score a VCF against its truth.

python -m genoflow.demo simulate OUT_DIR [--seed N] [--pairs N] [--length BASES]
python -m genoflow.demo evaluate CALLED.vcf[.gz] TRUTH.vcf.gz REFERENCE.fa
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genoflow.demo.evaluate import evaluate
from genoflow.demo.simulate import simulate
from genoflow.errors import GenoflowError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genoflow.demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("simulate", help="write reference, reads and truth VCF")
    make.add_argument("out_dir", type=Path)
    make.add_argument("--seed", type=int, default=1)
    make.add_argument("--pairs", type=int, default=None, help="read pairs (default: 30x)")
    make.add_argument("--length", type=int, default=300_000, help="reference length")
    score = commands.add_parser("evaluate", help="recall and precision against the truth")
    score.add_argument("called", type=Path)
    score.add_argument("truth", type=Path)
    score.add_argument("reference", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            data = simulate(
                args.out_dir, seed=args.seed, read_pairs=args.pairs, reference_length=args.length
            )
            print(f"reference\t{data.reference}\nfastq_1\t{data.fastq_r1}")
            print(f"fastq_2\t{data.fastq_r2}\ntruth\t{data.truth_vcf}")
            print(f"pairs\t{data.read_pairs}\nsnvs\t{data.snvs}\nindels\t{data.indels}")
        else:
            print(evaluate(args.called, args.truth, args.reference).summary())
    except (GenoflowError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
