"""``python -m genoflow.qc --bam B.bam --vcf B.vcf.gz --base B``: what the #qc step runs."""

import sys

from genoflow.qc import tool

sys.exit(tool().main(sys.argv[1:]))
